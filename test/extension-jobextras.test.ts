import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isMissingPatternsError,
  ReferenceSetMemory,
  REFERENCE_SETS_KEY,
  referenceKind,
  shouldOfferPatternFit,
} from '../src/extension/jobExtras';
import { loadPatterns } from '../src/core/patterns/store';
import { toWireError } from '../src/extension/worker';
import { describeMethods } from '../src/core/methods/catalog';
import { MethodCatalog } from '../src/shared/methods';

const catalog = new MethodCatalog(describeMethods());

class Memento {
  data = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  async update(key: string, value: unknown): Promise<void> {
    this.data.set(key, JSON.parse(JSON.stringify(value)));
  }
}

describe('fit patterns offer', () => {
  it('recognises the real missing-patterns error of the core, for pattern methods only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-nopatterns-'));
    const zoo = path.resolve(__dirname, '../../shared/zoo/iris-mlp');
    for (const f of fs.readdirSync(zoo)) if (/model\.json$|\.bin$/.test(f)) fs.copyFileSync(path.join(zoo, f), path.join(dir, f));
    const error = toWireError(
      await loadPatterns(path.join(dir, 'model.json')).then(
        () => null,
        (e: unknown) => e,
      ),
    );
    expect(error.message).toMatch(/pattern methods need fitted patterns/);
    expect(isMissingPatternsError(error.message)).toBe(true);
    for (const m of ['pgig', 'pattern-net', 'pattern-attribution']) expect(shouldOfferPatternFit(catalog, ['ig', m], error)).toBe(true);
    expect(shouldOfferPatternFit(catalog, ['ig', 'gradient'], error)).toBe(false);
    expect(shouldOfferPatternFit(catalog, ['pgig'], { code: 'cancelled', message: error.message })).toBe(false);
    expect(shouldOfferPatternFit(catalog, ['pgig'], { code: 'model-load', message: 'cannot read model.json' })).toBe(false);
    expect(shouldOfferPatternFit(catalog, ['pgig'], undefined)).toBe(false);
  });

  it('also offers a new fit for patterns fitted for other weights', () => {
    const message =
      '/m/.pathlens/patterns-ab.bin was fitted for different weights (model hash 1, this model 2); stale patterns are never used';
    expect(shouldOfferPatternFit(catalog, ['pgig'], { code: 'usage', message })).toBe(true);
    expect(
      isMissingPatternsError(
        'pattern methods need fitted patterns, but the patterns in /m/.pathlens were fitted for other weights of this model',
      ),
    ).toBe(true);
  });
});

describe('Expected Gradients reference set memory', () => {
  it('is needed only for expected-gradients', () => {
    expect(catalog.anyNeeds(['ig', 'expected-gradients'], 'referenceSet')).toBe(true);
    expect(catalog.anyNeeds(['ig', 'smoothgrad'], 'referenceSet')).toBe(false);
  });

  it('remembers one reference set per model (by absolute model path) in workspace state', async () => {
    const store = new Memento();
    const memory = new ReferenceSetMemory(store, () => true);
    expect(memory.get('/a/model.json')).toBeUndefined();
    await memory.set('/a/model.json', '/data/refs');
    await memory.set('/b/model.json', '/data/b.csv');
    expect(memory.get('/a/model.json')).toBe('/data/refs');
    expect(memory.get('/a/./x/../model.json')).toBe('/data/refs');
    expect(memory.get('/b/model.json')).toBe('/data/b.csv');
    await memory.set('/a/model.json', '/data/a.json');
    expect(memory.get('/a/model.json')).toBe('/data/a.json');
    // A new memory over the same store (a window reload) still knows them.
    expect(new ReferenceSetMemory(store, () => true).get('/b/model.json')).toBe('/data/b.csv');
    await memory.forget('/b/model.json');
    expect(memory.get('/b/model.json')).toBeUndefined();
  });

  it('asks again when the remembered set is gone, ignores junk in the store, and stays bounded', async () => {
    const store = new Memento();
    const existing = new Set(['/data/refs']);
    const memory = new ReferenceSetMemory(store, (p) => existing.has(p), 3);
    await memory.set('/a/model.json', '/data/refs');
    existing.delete('/data/refs');
    expect(memory.get('/a/model.json')).toBeUndefined();
    await store.update(REFERENCE_SETS_KEY, { '/c/model.json': 42, '/d/model.json': '/data/refs' });
    existing.add('/data/refs');
    expect(memory.get('/c/model.json')).toBeUndefined();
    expect(memory.get('/d/model.json')).toBe('/data/refs');
    await store.update(REFERENCE_SETS_KEY, ['nonsense']);
    expect(memory.get('/d/model.json')).toBeUndefined();
    for (const m of ['/1', '/2', '/3', '/4']) await memory.set(`${m}/model.json`, '/data/refs');
    expect(Object.keys(store.get<Record<string, string>>(REFERENCE_SETS_KEY)!)).toEqual([
      '/2/model.json',
      '/3/model.json',
      '/4/model.json',
    ]);
  });

  it('tells folders, CSV and JSON reference sets apart', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-refs-'));
    expect(referenceKind(dir)).toBe('folder');
    expect(referenceKind(path.join(dir, 'r.CSV'))).toBe('csv');
    expect(referenceKind(path.join(dir, 'r.json'))).toBe('json');
    expect(referenceKind(path.join(dir, 'r.png'))).toBeNull();
  });
});

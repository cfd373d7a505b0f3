import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputsNearModel, orderInputCandidates, orderModels, RecentModels, type KeyValueStore } from '../src/extension/discovery';

let root: string;
const touch = (rel: string) => {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'x');
  return file;
};

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-discovery-'));
  touch('models/shapes/model.json');
  touch('models/shapes/labels.txt');
  touch('models/shapes/images/b.png');
  touch('models/shapes/images/a.JPG');
  touch('models/shapes/table.csv');
  touch('models/shapes/deep/er/still/too-deep.png');
  touch('models/shapes/node_modules/pkg/icon.png');
  touch('models/shapes/.hidden/x.png');
  touch('other/c.png');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('inputsNearModel', () => {
  it('finds images and tables in the model folder and its sub-folders, skipping node_modules and hidden folders', () => {
    const found = inputsNearModel(path.join(root, 'models/shapes/model.json')).map((f) => path.relative(root, f));
    expect(found).toEqual(['models/shapes/table.csv', 'models/shapes/images/a.JPG', 'models/shapes/images/b.png']);
  });

  it('respects the depth and the limit', () => {
    const model = path.join(root, 'models/shapes/model.json');
    expect(inputsNearModel(model, { maxDepth: 0 }).map((f) => path.basename(f))).toEqual(['table.csv']);
    expect(inputsNearModel(model, { maxDepth: 5 }).some((f) => f.endsWith('too-deep.png'))).toBe(true);
    expect(inputsNearModel(model, { limit: 2 })).toHaveLength(2);
  });

  it('returns nothing for a missing folder', () => {
    expect(inputsNearModel(path.join(root, 'nope/model.json'))).toEqual([]);
  });
});

describe('orderInputCandidates', () => {
  it('puts inputs beside the model first, then the workspace, once each, never node_modules', () => {
    const model = path.join(root, 'models/shapes/model.json');
    const near = inputsNearModel(model);
    const workspace = [
      path.join(root, 'other/c.png'),
      path.join(root, 'models/shapes/images/b.png'),
      path.join(root, 'node_modules/x/y.png'),
      path.join(root, 'notes.txt'),
    ];
    const items = orderInputCandidates(model, near, workspace, root);
    expect(items.map((i) => [i.label, i.description, i.near])).toEqual([
      ['table.csv', '.', true],
      ['a.JPG', 'images', true],
      ['b.png', 'images', true],
      ['c.png', 'other', false],
    ]);
  });
});

describe('recent models', () => {
  const memory = (): KeyValueStore & { data: Map<string, unknown> } => {
    const data = new Map<string, unknown>();
    return { data, get: <T>(k: string) => data.get(k) as T | undefined, update: async (k: string, v: unknown) => void data.set(k, v) };
  };

  it('keeps the newest first, without duplicates, capped, and only existing files', async () => {
    const store = memory();
    const recent = new RecentModels(store, 3);
    for (const p of ['/a/model.json', '/b/model.json', '/a/model.json', '/c/model.json', '/d/model.json']) await recent.add(p);
    expect(recent.list(() => true)).toEqual(['/d/model.json', '/c/model.json', '/a/model.json']);
    expect(recent.list((p) => p !== '/c/model.json')).toEqual(['/d/model.json', '/a/model.json']);
  });

  it('survives garbage in the store', () => {
    const store = memory();
    store.data.set('pathlens.recentModels', 'not a list');
    expect(new RecentModels(store).list(() => true)).toEqual([]);
  });

  it('orders the model picker: recent first, then workspace models sorted, each once', () => {
    const out = orderModels(['/w/b/model.json'], ['/w/c/model.json', '/w/b/model.json', '/w/a/model.json', '/w/node_modules/x/model.json']);
    expect(out).toEqual([
      { path: '/w/b/model.json', recent: true },
      { path: '/w/a/model.json', recent: false },
      { path: '/w/c/model.json', recent: false },
    ]);
  });
});

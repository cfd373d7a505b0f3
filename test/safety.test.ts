import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathLensError } from '../src/core/errors';
import {
  checkDeclaredBytes,
  jsonNestingDepth,
  parseJsonText,
  readInsideFolder,
  readRegularFile,
  resolveInsideFolder,
  validate,
  z,
} from '../src/core/safety';

let root: string;
let folder: string;

function expectError(fn: () => unknown, code: string, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PathLensError);
    expect((err as PathLensError).code).toBe(code);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message).not.toContain('\n');
    return;
  }
  throw new Error('expected an error');
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pl-safety-'));
  folder = path.join(root, 'model');
  fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'w.bin'), Buffer.alloc(8));
  fs.writeFileSync(path.join(folder, 'sub', 'a b.bin'), Buffer.alloc(4));
  fs.writeFileSync(path.join(root, 'secret.bin'), 'secret');
  fs.symlinkSync(path.join(root, 'secret.bin'), path.join(folder, 'link.bin'));
  fs.symlinkSync('w.bin', path.join(folder, 'inside-link.bin'));
  fs.symlinkSync('nowhere.bin', path.join(folder, 'dangling.bin'));
  fs.symlinkSync('loop2.bin', path.join(folder, 'loop1.bin'));
  fs.symlinkSync('loop1.bin', path.join(folder, 'loop2.bin'));
  execFileSync('mkfifo', [path.join(folder, 'fifo.bin')]);
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('resolveInsideFolder', () => {
  it('accepts files inside the folder, percent-decoded and through inside links', () => {
    expect(resolveInsideFolder(folder, 'w.bin', 'shard')).toBe(fs.realpathSync(path.join(folder, 'w.bin')));
    expect(resolveInsideFolder(folder, 'sub/a%20b.bin', 'shard')).toBe(fs.realpathSync(path.join(folder, 'sub', 'a b.bin')));
    expect(resolveInsideFolder(folder, './sub/../w.bin', 'shard')).toBe(fs.realpathSync(path.join(folder, 'w.bin')));
    expect(resolveInsideFolder(folder, 'inside-link.bin', 'shard')).toBe(fs.realpathSync(path.join(folder, 'w.bin')));
  });

  it('refuses escapes, absolute names, malformed encodings and links leaving the folder', () => {
    expectError(() => resolveInsideFolder(folder, '../secret.bin', 'paths[0]'), 'unsafe-path', /paths\[0\].*outside the model folder/);
    expectError(() => resolveInsideFolder(folder, '..%2Fsecret.bin', 'paths[0]'), 'unsafe-path', /outside the model folder/);
    expectError(() => resolveInsideFolder(folder, path.join(root, 'secret.bin'), 'paths[0]'), 'unsafe-path', /absolute path/);
    expectError(() => resolveInsideFolder(folder, '/dev/zero', 'paths[0]'), 'unsafe-path', /absolute path/);
    expectError(() => resolveInsideFolder(folder, '%2Fdev%2Fzero', 'paths[0]'), 'unsafe-path', /absolute path/);
    expectError(() => resolveInsideFolder(folder, '%E0%A4%A', 'paths[0]'), 'unsafe-path', /not a valid percent-encoded/);
    expectError(() => resolveInsideFolder(folder, 'link.bin', 'paths[0]'), 'unsafe-path', /link to .*secret\.bin, outside/);
    expectError(() => resolveInsideFolder(folder, 'w.bin%00x', 'paths[0]'), 'unsafe-path', /NUL byte/);
    expectError(() => resolveInsideFolder(folder, '', 'paths[0]'), 'unsafe-path', /empty file name/);
  });

  it('refuses non-regular files and names missing ones, loops and dangling links in one line', () => {
    expectError(() => resolveInsideFolder(folder, 'fifo.bin', 'shard'), 'unsafe-path', /named pipe/);
    expectError(() => resolveInsideFolder(folder, 'sub', 'shard'), 'unsafe-path', /is a folder/);
    expectError(() => resolveInsideFolder(folder, 'missing.bin', 'shard', { code: 'model-shard' }), 'model-shard', /does not exist/);
    expectError(() => resolveInsideFolder(folder, 'dangling.bin', 'shard'), 'input', /dangling/);
    expectError(() => resolveInsideFolder(folder, 'loop1.bin', 'shard'), 'input', /symbolic link loop/);
  });
});

describe('readRegularFile / readInsideFolder', () => {
  it('reads within the size limit and refuses larger files before reading', () => {
    expect(readInsideFolder(folder, 'w.bin', 'shard', 100).bytes.length).toBe(8);
    expectError(() => readRegularFile(path.join(folder, 'w.bin'), 'shard', 4), 'limit', /8 B, more than the 4 B/);
  });

  it('never blocks on a FIFO and refuses devices', () => {
    expectError(() => readRegularFile(path.join(folder, 'fifo.bin'), 'input', 100), 'unsafe-path', /named pipe/);
    expectError(() => readRegularFile('/dev/zero', 'input', 100), 'unsafe-path', /device/);
  });
});

describe('budgets, JSON depth and schemas', () => {
  it('checks declared sizes against the budget', () => {
    expect(() => checkDeclaredBytes(1000, 1000, 'x')).not.toThrow();
    expectError(
      () => checkDeclaredBytes(4e9, 1024 ** 3, 'layer dense_1 kernel'),
      'limit',
      /dense_1 kernel needs 3\.7 GB, more than the budget of 1\.0 GB/,
    );
    expectError(() => checkDeclaredBytes(NaN, 10, 'shape'), 'limit', /impossible size/);
    expectError(() => checkDeclaredBytes(-1, 10, 'shape'), 'limit', /impossible size/);
  });

  it('measures nesting without being fooled by brackets in strings, and refuses deep JSON', () => {
    expect(jsonNestingDepth('[[1,[2]],{"a":"[[[["}]')).toBe(3);
    expect(jsonNestingDepth('"\\"[["')).toBe(0);
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    expectError(() => parseJsonText(deep, 'in.json', 'input'), 'limit', /in\.json nests .* more than 100 levels/);
    expectError(() => parseJsonText('{"a":', 'in.json', 'input'), 'input', /in\.json is not valid JSON/);
    expect(parseJsonText('\uFEFF[1]', 'in.json', 'input')).toEqual([1]);
  });

  it('names the file and the field of the first schema problem', () => {
    const schema = z.object({ weights: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()) })) });
    expect(validate(schema, { weights: [{ name: 'a', shape: [1] }] }, 'm.json', 'model-json')).toEqual({
      weights: [{ name: 'a', shape: [1] }],
    });
    expectError(
      () =>
        validate(
          schema,
          {
            weights: [
              { name: 'a', shape: [1] },
              { name: 'b', shape: '3' },
            ],
          },
          'm.json',
          'model-json',
        ),
      'model-json',
      /^m\.json: field "weights\[1\]\.shape": /,
    );
  });
});

describe('JSON errors stay on one line', () => {
  it('names binary files instead of printing their bytes', () => {
    const hdf5 = new TextDecoder().decode(Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 1]));
    expectError(
      () => parseJsonText(hdf5, 'model.h5', 'model-json'),
      'model-json',
      /model\.h5 is not valid JSON: it is a binary file \(HDF5/,
    );
    expectError(() => parseJsonText('\x01\x02{\r\n', 'x.json', 'input'), 'input', /x\.json is not valid JSON \(/);
  });
});

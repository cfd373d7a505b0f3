// Fails unless the kernels module imports only env.memory, declares no data or memory of its own and
// never reads or writes a global (wasm-ld always defines __stack_pointer; code that used it would
// build a stack frame inside the TF.js backend's memory). Needs wabt's wasm-objdump.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

const file = process.argv[2];
const mod = new WebAssembly.Module(fs.readFileSync(file));
const imports = WebAssembly.Module.imports(mod);
const bad = [];
if (imports.length !== 1 || imports[0].module !== 'env' || imports[0].name !== 'memory' || imports[0].kind !== 'memory') {
  bad.push(`imports ${JSON.stringify(imports)}`);
}
for (const e of WebAssembly.Module.exports(mod)) if (e.kind !== 'function') bad.push(`exports ${e.kind} ${e.name}`);
const bytes = fs.readFileSync(file);
// Section ids: 11 = data, 12 = data count, 5 = memory (own memory).
for (let i = 8; i < bytes.length;) {
  const id = bytes[i++];
  let size = 0;
  for (let shift = 0; ; shift += 7) {
    const b = bytes[i++];
    size |= (b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  if ([5, 11, 12].includes(id)) bad.push(`section ${id}`);
  i += size;
}
const code = execFileSync('wasm-objdump', ['-d', file], { encoding: 'utf8' });
if (/global\.(get|set)/.test(code)) bad.push('uses a global (a stack frame)');
if (bad.length > 0) {
  console.error(`${file}: not self-contained: ${bad.join(', ')}`);
  process.exit(1);
}
console.log(
  `${file}: ${WebAssembly.Module.exports(mod)
    .map((e) => e.name)
    .join(', ')}`,
);

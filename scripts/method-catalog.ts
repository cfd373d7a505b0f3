// Writes the method catalog (src/core/methods/catalog.ts) as JSON to the file named by argv[2]; run by
// scripts/build.mjs so the extension host gets the methods as data without loading TF.js.
import * as fs from 'node:fs';
import { describeMethods } from '../src/core/methods/catalog';

fs.writeFileSync(process.argv[2]!, JSON.stringify(describeMethods(), null, 2) + '\n');

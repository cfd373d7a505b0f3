/**
 * Development script for the Captum side-by-side measurement (side_by_side.py): writes the input
 * tensors PathLens explains for the tm-objects samples, decoded and preprocessed by the same code the
 * CLI's jobs use (preprocessing resolved from the model folder, the Teachable Machine centre crop), as
 * raw float32 [224, 224, 3] files plus a manifest, so the PyTorch side sees identical inputs.
 *   npx tsx scripts/dev/captum-side-by-side/dump-inputs.ts <model.json> <samples dir> <out dir>
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expandInputPaths, loadInputs, resolvePreprocessing } from '../../../src/core/input';
import { defaultCropFor } from '../../../src/core/model/sidecars';

async function main(): Promise<void> {
  const [modelPath, samples, outDir] = process.argv.slice(2);
  if (!modelPath || !samples || !outDir) throw new Error('usage: dump-inputs.ts <model.json> <samples dir> <out dir>');
  const preprocessing = resolvePreprocessing({ modelDir: path.dirname(path.resolve(modelPath)) });
  const crop = defaultCropFor(modelPath);
  const files = expandInputPaths([samples]);
  const inputs = await loadInputs(files, { inputShape: [224, 224, 3] }, preprocessing, { crop });
  fs.mkdirSync(outDir, { recursive: true });
  const manifest = inputs.map((input) => {
    const name = path.basename(input.path).replace(/\.[^.]+$/, '');
    const file = path.join(outDir, `${name}.f32`);
    fs.writeFileSync(file, Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength));
    return { name, source: path.resolve(input.path), file, shape: input.shape };
  });
  const meta = { preprocessing: preprocessing.name, mean: preprocessing.mean, std: preprocessing.std, crop, inputs: manifest };
  fs.writeFileSync(path.join(outDir, 'inputs.json'), JSON.stringify(meta, null, 2));
  console.log(`wrote ${manifest.length} inputs (${preprocessing.name}, crop ${crop}) to ${outDir}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

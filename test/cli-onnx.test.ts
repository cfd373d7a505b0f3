/**
 * The CLI on committed ONNX fixtures (test/fixtures/onnx): info, explain with an image and an NCHW
 * .json input (maps agree with the PyTorch autograd reference, overlays are H×W), sanity checks over
 * the graph's weighted nodes, and the one-line refusals (pattern methods, truncated files, unsupported ops).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { chwToHwc } from '../src/core/model/inputLayout';
import { relativeL1 } from '../src/core/path/mapError';
import { tempDir } from './helpers/analyticModels';
import { lastLine, pathlens, ROOT } from './helpers/cli';
import { encodeModel, floatTensor } from './helpers/onnxBuilder';
import { cosine, flatten } from './helpers/compare';

const FIXTURES = path.join(ROOT, 'test/fixtures/onnx');
const RESNET = path.join(FIXTURES, 'resnet_basic.op17.onnx');
const RESNET_INPUT = path.join(FIXTURES, 'resnet_basic.input.json');
const IMAGE = path.join(ROOT, 'examples/shapes/images/circle-1.png'); // 48×48, resized to the model's 32×32

describe('pathlens on ONNX files', () => {
  it('info: inputs, outputs, opsets, op histogram, parameters and the detected preprocessing with its reason', () => {
    const run = pathlens('info', '--model', RESNET);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('format: onnx   parameters: 5,194');
    expect(run.stdout).toContain('onnx opsets: ai.onnx 17');
    expect(run.stdout).toContain('onnx input  input: [batch, 3, 32, 32] FLOAT (NCHW)');
    expect(run.stdout).toContain('onnx output logits: [batch, 10]');
    expect(run.stdout).toMatch(/op histogram \(6 op types\):\n\s+Conv ×6, Relu ×5, Add ×2, Flatten ×1, Gemm ×1, GlobalAveragePool ×1/);
    expect(run.stdout).toMatch(/preprocessing: imagenet \(detected;.*\): ONNX input 'input' is a float N×3×H×W tensor/);
    const json = JSON.parse(pathlens('info', '--model', RESNET, '--json').stdout);
    expect(json.model.onnx.ops).toEqual({ Conv: 6, Relu: 5, Add: 2, Flatten: 1, Gemm: 1, GlobalAveragePool: 1 });
    expect(json.preprocessing).toMatchObject({ name: 'imagenet', source: 'detected' });
  }, 120_000);

  it('explain: an NCHW .json input matches PyTorch autograd IG, an image gets an H×W overlay and the report states the preprocessing', () => {
    const reference = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'resnet_basic.reference.json'), 'utf8'));
    const out = tempDir('cli-onnx');
    const run = pathlens(
      'explain',
      '--model',
      RESNET,
      '--input',
      RESNET_INPUT,
      '--input',
      IMAGE,
      '--method',
      'ig,gradient',
      '--rule',
      'gauss-legendre',
      '--steps',
      String(reference.steps),
      '--target',
      String(reference.target),
      '--json',
      '--out',
      out,
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.model.format).toBe('onnx');
    expect(result.preprocessing).toMatchObject({ name: 'imagenet', source: 'detected' });
    const [tensor, image] = result.inputs;
    expect(tensor.prediction.top[0].score).toBeCloseTo(Math.max(...reference.logits), 4);
    const ig = tensor.results[0];
    expect(ig.attribution.shape).toEqual([32, 32, 3]);
    const want = chwToHwc(Float32Array.from(flatten(reference.attributions)), [3, 32, 32]);
    expect(cosine(ig.attribution.data, want)).toBeGreaterThanOrEqual(0.999);
    expect(relativeL1(want, Float32Array.from(ig.attribution.data))).toBeLessThanOrEqual(1e-2);
    expect(Math.abs(ig.completeness.relative)).toBeLessThan(0.01);
    expect(image.results.map((r: { attribution: { shape: number[] } }) => r.attribution.shape)).toEqual([
      [32, 32, 3],
      [32, 32, 3],
    ]);
    const overlay = PNG.sync.read(fs.readFileSync(path.join(out, 'circle-1-ig.png')));
    expect([overlay.width, overlay.height]).toEqual([32, 32]);
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    expect(html).toContain('imagenet');
    expect(html).toContain('as torchvision exports take');
  }, 300_000);

  it('sanity: cascading randomization over the Conv/Gemm nodes from the output, and model perturbation', () => {
    const run = pathlens('sanity', '--model', RESNET, '--input', RESNET_INPUT, '--method', 'gradient', '--check', 'cascading', '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.layers.map((l: { className: string }) => l.className)).toEqual(['Conv', 'Conv', 'Conv', 'Conv', 'Conv', 'Conv', 'Gemm']);
    expect(result.steps.map((s: { label: string }) => s.label)).toEqual([
      'fc',
      'blocks.1/downsample/downsample.0',
      'blocks.1/conv2',
      'blocks.1/conv1',
      'blocks.0/conv2',
      'blocks.0/conv1',
      'stem.0',
    ]);
    // Fully randomized, the gradient map no longer resembles the trained one.
    const gradient = result.methods[0];
    expect(Math.abs(gradient.steps[gradient.steps.length - 1].similarity.spearmanAbs)).toBeLessThan(0.5);
    expect(gradient.verdict.status).toBe('pass');
    const perturbed = pathlens('sanity', '--model', RESNET, '--input', IMAGE, '--method', 'gradient', '--check', 'perturbation', '--json');
    expect(perturbed.code, perturbed.stderr).toBe(0);
    const perturbation = JSON.parse(perturbed.stdout);
    expect(perturbation.steps.length).toBeGreaterThan(1);
    expect(perturbation.steps[0].draws.kept).toBeGreaterThan(0);
    expect(perturbation.methods[0].steps[0].similarity.spearmanAbs).toBeGreaterThan(0.8);
  }, 300_000);

  it('refuses pattern methods, truncated files and unsupported ops with one line each', () => {
    const pgig = pathlens('explain', '--model', RESNET, '--input', RESNET_INPUT, '--method', 'pgig');
    expect(pgig.code).toBe(1);
    expect(lastLine(pgig.stderr)).toMatch(
      /pgig cannot run on the ONNX model resnet_basic\.op17\.onnx: the pattern methods .* need patterns fitted per layer/,
    );
    const neurons = pathlens('neurons', '--model', RESNET, '--input', IMAGE, '--layer', '/fc/Gemm');
    expect(neurons.code).toBe(1);
    expect(lastLine(neurons.stderr)).toMatch(/neurons needs a model's internal layers; resnet_basic\.op17\.onnx is an imported ONNX graph/);
    const dir = tempDir('cli-onnx-bad');
    const truncated = path.join(dir, 'truncated.onnx');
    const bytes = fs.readFileSync(RESNET);
    fs.writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    const t = pathlens('info', '--model', truncated);
    expect(t.code).toBe(1);
    expect(t.stderr.trim().split('\n')).toHaveLength(1);
    expect(t.stderr).toContain('truncated.onnx');
    const odd = path.join(dir, 'odd.onnx');
    fs.writeFileSync(
      odd,
      encodeModel({
        input: { name: 'x', dims: ['batch', 4] },
        output: { name: 'y' },
        initializers: [floatTensor('w', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8])],
        opset: 15,
        nodes: [
          { op: 'Hardmax', inputs: ['x'], outputs: ['h'], name: 'hard' },
          { op: 'MatMul', inputs: ['h', 'w'], outputs: ['m'] },
          { op: 'Celu', inputs: ['m'], outputs: ['c'], name: 'celu1' },
          { op: 'Celu', inputs: ['c'], outputs: ['y'], name: 'celu2' },
        ],
      }),
    );
    const u = pathlens('explain', '--model', odd, '--input', RESNET_INPUT, '--method', 'ig');
    expect(u.code).toBe(1);
    const line = lastLine(u.stderr);
    expect(line).toMatch(/opset 15/);
    expect(line).toContain("Hardmax (node 'hard')");
    expect(line).toContain("Celu (node 'celu1')");
    expect(line).not.toContain('celu2');
  }, 120_000);
});

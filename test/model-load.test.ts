import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PathLensError } from '../src/core/errors';
import { loadModel } from '../src/core/model/load';
import { tempDir } from './helpers/analyticModels';
import { useCpu } from './helpers/runMethod';

const ZOO = path.resolve(__dirname, '../../shared/zoo');

/** A copy of a zoo model's directory that a test may damage. */
function copyOf(name: string): string {
  const dir = tempDir(name);
  for (const file of fs.readdirSync(path.join(ZOO, name))) {
    const from = path.join(ZOO, name, file);
    if (fs.statSync(from).isFile()) fs.copyFileSync(from, path.join(dir, file));
  }
  return dir;
}

async function loadError(file: string): Promise<PathLensError> {
  try {
    await loadModel(file);
  } catch (err) {
    expect(err).toBeInstanceOf(PathLensError);
    return err as PathLensError;
  }
  throw new Error(`expected ${file} to fail`);
}

beforeAll(useCpu);

describe('loading the zoo', () => {
  it('summarises a nested Teachable Machine layers model with labels and a logit twin', async () => {
    const model = await loadModel(path.join(ZOO, 'tm-objects/model.json'));
    expect(model.summary.format).toBe('layers-model');
    expect(model.inputShape).toEqual([224, 224, 3]);
    expect(model.numClasses).toBe(5);
    expect(model.summary.labels).toEqual(['Ball', 'Gun', 'banana', 'apple', 'mobile']);
    expect(model.summary.finalActivation).toBe('softmax');
    expect(model.summary.layers.filter((l) => l.className === 'DepthwiseConv2D')).toHaveLength(17);
    tf.tidy(() => {
      const x = tf.randomUniform([2, 224, 224, 3], -1, 1, 'float32', 1);
      const logits = model.scores(x, 'logit');
      const probabilities = model.scores(x, 'probability');
      // The twin stops before softmax: softmax(logit) is the model's own output, and logits are not probabilities.
      expect(tf.max(tf.abs(tf.sub(tf.softmax(logits), probabilities))).dataSync()[0]).toBeLessThan(1e-6);
      expect(tf.max(tf.abs(tf.sub(logits, probabilities))).dataSync()[0]).toBeGreaterThan(1e-3);
    });
    model.dispose();
  });

  it('finds the logit of a graph model behind Softmax and keeps raw-logit graph models as they are', async () => {
    const mnist = await loadModel(path.join(ZOO, 'mnist-cnn-graph/model.json'));
    expect(mnist.summary.format).toBe('graph-model');
    expect(mnist.summary.finalActivation).toBe('softmax');
    expect(mnist.outputNotes.logit).toMatch(/pre-softmax/);
    const mobilenet = await loadModel(path.join(ZOO, 'mobilenet-v1-025-graph/model.json'));
    expect(mobilenet.numClasses).toBe(1001);
    expect(mobilenet.summary.finalActivation).toBeNull();
    expect(mobilenet.summary.totalParams).toBeGreaterThan(400_000);
    mnist.dispose();
    mobilenet.dispose();
  });

  it('layers and graph versions of the same Keras model agree', async () => {
    const layers = await loadModel(path.join(ZOO, 'mnist-cnn/model.json'));
    const graph = await loadModel(path.join(ZOO, 'mnist-cnn-graph/model.json'));
    tf.tidy(() => {
      const x = tf.randomUniform([3, 28, 28, 1], 0, 255, 'float32', 7);
      const diff = tf.max(tf.abs(tf.sub(layers.scores(x, 'logit'), graph.scores(x, 'logit')))).dataSync()[0]!;
      expect(diff).toBeLessThan(1e-3);
    });
  });
});

describe('bad model files give specific errors', () => {
  it('truncated model.json', async () => {
    const dir = copyOf('mnist-cnn');
    const file = path.join(dir, 'model.json');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.slice(0, text.length / 2));
    const err = await loadError(file);
    expect(err.code).toBe('model-json');
    expect(err.message).toMatch(/not valid JSON.*truncated/);
  });

  it('JSON that is not a model', async () => {
    const dir = tempDir('not-a-model');
    fs.writeFileSync(path.join(dir, 'model.json'), '{"name": "package"}');
    expect((await loadError(path.join(dir, 'model.json'))).message).toMatch(/no "modelTopology"/);
  });

  it('missing weight shard names the shard and where it was expected', async () => {
    const dir = copyOf('sign-digits-64');
    fs.unlinkSync(path.join(dir, 'group1-shard1of1.bin'));
    const err = await loadError(path.join(dir, 'model.json'));
    expect(err.code).toBe('model-shard');
    expect(err.message).toContain('missing weight shard group1-shard1of1.bin');
    expect(err.message).toContain(dir);
  });

  it('short shard says by how many bytes', async () => {
    const dir = copyOf('tm-objects');
    const shard = path.join(dir, 'weights.bin');
    const bytes = fs.readFileSync(shard);
    fs.writeFileSync(shard, bytes.subarray(0, bytes.length - 1000));
    const err = await loadError(path.join(dir, 'model.json'));
    expect(err.code).toBe('model-shard');
    expect(err.message).toMatch(/weights\.bin is short by 1000 bytes/);
  });

  it('shard with extra bytes', async () => {
    const dir = copyOf('iris-mlp');
    fs.appendFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.alloc(12));
    expect((await loadError(path.join(dir, 'model.json'))).message).toMatch(/12 extra bytes/);
  });

  it('unsupported layer class is named', async () => {
    const dir = copyOf('iris-mlp');
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    json.modelTopology.model_config.config.layers[1].class_name = 'MyAttentionLayer';
    fs.writeFileSync(file, JSON.stringify(json));
    const err = await loadError(file);
    expect(err.code).toBe('model-unsupported');
    expect(err.message).toContain("layer class 'MyAttentionLayer'");
  });

  it('missing model file', async () => {
    expect((await loadError('/nonexistent/model.json')).message).toContain('model file not found');
  });
});

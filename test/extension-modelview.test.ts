import { describe, expect, it } from 'vitest';
import type { ModelSummary } from '../src/core/types';
import { parseModelViewMessage, renderModelViewHtml } from '../src/extension/modelViewHtml';

const summary: ModelSummary = {
  path: '/w/<evil>/model.json',
  format: 'layers-model',
  inputs: [{ name: 'input_1', shape: [null, 28, 28, 1], dtype: 'float32' }],
  outputs: [{ name: 'out', shape: [null, 10], dtype: 'float32' }],
  layers: [
    { name: 'conv<script>', className: 'Conv2D', outputShape: [null, 26, 26, 8], params: 80 },
    { name: 'dense', className: 'Dense', outputShape: [null, 10], params: 54090 },
  ],
  totalParams: 54170,
  finalActivation: 'softmax',
  labels: ['zero', '"one"'],
  labelsSource: 'labels.txt',
  weightBytes: 216680,
};
const opts = { cspSource: 'vscode-webview://abc', nonce: 'N0nceN0nceN0nce1234' };

describe('model view page', () => {
  it('shows the summary with escaped names, counts and preprocessing', () => {
    const html = renderModelViewHtml(
      {
        kind: 'summary',
        summary,
        preprocessing: { name: 'unit', mean: [0], std: [255], source: 'default' },
        backend: 'wasm',
        trusted: true,
      },
      opts,
    );
    expect(html).toContain('54,170');
    expect(html).toContain('[?, 28, 28, 1]');
    expect(html).toContain('conv&lt;script&gt;');
    expect(html).not.toContain('conv<script>');
    expect(html).toContain('&quot;one&quot;');
    expect(html).toContain('unit (default)');
    expect(html).toContain('data-msg="explain"');
  });

  it('shows the opsets, input layout and op histogram of an ONNX file', () => {
    const onnx: NonNullable<ModelSummary['onnx']> = {
      irVersion: 8,
      producer: 'pytorch 1.13.0',
      opsets: { 'ai.onnx': 17 },
      input: { name: 'input', dims: ['batch', 3, 32, 32], elementType: 'FLOAT', layout: 'NCHW' },
      output: { name: 'logits', dims: ['batch', 10] },
      ops: { Conv: 6, '<Odd>': 1 },
      nodes: 7,
      initializers: 12,
      foldedBatchNorms: 0,
      foldedNodes: 0,
      externalData: ['weights.data'],
      inputNote: 'NCHW [batch, 3, 32, 32]: images are preprocessed as H×W×C and transposed to N×C×H×W',
    };
    const html = renderModelViewHtml(
      { kind: 'summary', summary: { ...summary, format: 'onnx', onnx }, preprocessing: null, backend: null, trusted: true },
      opts,
    );
    expect(html).toContain('IR 8, opsets ai.onnx 17; 7 nodes, 12 initializers (external data: weights.data)');
    expect(html).toContain('Conv ×6, &lt;Odd&gt; ×1');
    expect(html).toContain('images are preprocessed as H×W×C and transposed to N×C×H×W');
  });

  it('has a strict CSP: no default sources, scripts and styles only by nonce', () => {
    const html = renderModelViewHtml({ kind: 'loading', path: '/w/model.json' }, opts);
    const csp = /content="([^"]+)"/.exec(html)![1]!.replace(/&#39;/g, "'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'nonce-${opts.nonce}'`);
    expect(csp).not.toContain('unsafe');
    const scripts = html.match(/<script[^>]*>/g)!;
    expect(scripts.every((s) => s.includes(`nonce="${opts.nonce}"`))).toBe(true);
  });

  it('hides the explain buttons in restricted mode and shows errors', () => {
    expect(renderModelViewHtml({ kind: 'summary', summary, preprocessing: null, backend: null, trusted: false }, opts)).not.toContain(
      'data-msg="explain"',
    );
    const err = renderModelViewHtml({ kind: 'error', path: '/w/model.json', message: 'shard <missing>' }, opts);
    expect(err).toContain('shard &lt;missing&gt;');
    expect(err).toContain('data-testid="error"');
  });

  it('accepts only known messages', () => {
    expect(parseModelViewMessage({ type: 'explain' })).toEqual({ type: 'explain' });
    expect(parseModelViewMessage({ type: 'quickExplain', extra: 1 })).toEqual({ type: 'quickExplain' });
    expect(parseModelViewMessage({ type: 'run', cmd: 'rm' })).toBeNull();
    expect(parseModelViewMessage('explain')).toBeNull();
    expect(parseModelViewMessage(null)).toBeNull();
  });
});

"""Integrated Gradients with Captum's semantics (IntegratedGradients.attribute), written from reading
its source, for the side-by-side measurement (Captum itself cannot be installed here).

What carries over (facts of Captum's behaviour):
- default method 'gausslegendre': numpy's Gauss-Legendre nodes x_k and weights w_k on [-1, 1],
  alphas 0.5 (1 + x_k), step sizes 0.5 w_k (float64 lists); Riemann rules: step 1/n (trapezoid
  halves both ends), alphas from linspace;
- path points baseline + alpha (input - baseline), concatenated step-major along the batch axis;
- internal_batch_size: the steps are cut into chunks of max(1, internal_batch_size // examples)
  steps, each chunk evaluated on its own; without it all n_steps go in one batch;
- per chunk: gradient of the sum of the target outputs, times the step sizes cast to float32, summed
  over the chunk's steps, times (input - baseline); the chunks' attributions are added in float32.
"""
import numpy as np
import torch


def gauss_legendre(n):
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return (0.5 * weights).tolist(), (0.5 * (1 + nodes)).tolist()


def riemann(kind):
    def rule(n):
        steps = [1 / n] * n
        if kind == "trapezoid":
            steps[0] /= 2
            steps[-1] /= 2
            return steps, torch.linspace(0, 1, n).tolist()
        start, end = {"left": (0, 1 - 1 / n), "middle": (1 / (2 * n), 1 - 1 / (2 * n)), "right": (1 / n, 1)}[kind]
        return steps, torch.linspace(start, end, n).tolist()

    return rule


RULES = {
    "gausslegendre": gauss_legendre,
    "riemann_left": riemann("left"),
    "riemann_right": riemann("right"),
    "riemann_middle": riemann("middle"),
    "riemann_trapezoid": riemann("trapezoid"),
}


def _chunk_attribution(forward, inputs, baselines, target, step_sizes, alphas):
    """One chunk: (Σ_k step_k ∇F(baseline + alpha_k (input − baseline))) ⊙ (input − baseline)."""
    steps, examples = len(alphas), inputs.shape[0]
    points = torch.cat([baselines + a * (inputs - baselines) for a in alphas], dim=0).requires_grad_()
    with torch.enable_grad():
        outputs = forward(points)[:, target]
        (grads,) = torch.autograd.grad(outputs.sum(), points)
    weighted = grads.contiguous().view(steps, -1) * torch.tensor(step_sizes).float().view(steps, 1)
    total = weighted.reshape((steps, examples) + tuple(inputs.shape[1:])).sum(0)
    return total * (inputs - baselines)


def integrated_gradients(forward, inputs, baselines=None, target=None, n_steps=50, method="gausslegendre", internal_batch_size=None):
    """Attributions of `target` (an output column) for `inputs` [N, ...]; zero baseline by default."""
    if baselines is None:
        baselines = torch.zeros_like(inputs)
    step_sizes, alphas = RULES[method](n_steps)
    if internal_batch_size is None:
        return _chunk_attribution(forward, inputs, baselines, target, step_sizes, alphas)
    per_chunk = max(1, internal_batch_size // inputs.shape[0])
    total = None
    for start in range(0, n_steps, per_chunk):
        end = min(start + per_chunk, n_steps)
        part = _chunk_attribution(forward, inputs, baselines, target, step_sizes[start:end], alphas[start:end]).detach()
        total = part if total is None else total + part
    return total

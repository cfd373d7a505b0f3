"""PyTorch re-implementation of a TF.js layers model (the zoo's tm-objects: Teachable Machine
MobileNetV2 0.35 + dense head), built from model.json and its weight shards as a Captum user would
have it: NCHW nn.Modules (Conv2d, depthwise Conv2d with groups, BatchNorm2d in eval mode, ReLU6),
BatchNorm not folded. Development only: the product never needs Python.

Semantics carried over from Keras/TF: kernels HWIO -> OIHW, depthwise HWC1 -> C1HW; 'same' padding
puts the odd pixel after (bottom/right); ZeroPadding2D [[top, bottom], [left, right]]; BatchNorm
epsilon from the config; ReLU(max_value) clips; the final softmax is dropped (PathLens explains its
input, the logit).
"""
import json
import math
import os

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def read_weights(model_dir, manifest):
    """name -> float32 array, read from the shard files in manifest order."""
    weights = {}
    for group in manifest:
        blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            if spec["dtype"] != "float32" or "quantization" in spec:
                raise ValueError(f"unsupported weight {spec['name']}: {spec['dtype']}")
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            weights[spec["name"]] = np.frombuffer(blob, np.float32, count, offset).reshape(spec["shape"])
            offset += 4 * count
    return weights


class SamePad(nn.Module):
    """TF 'same' padding for stride s and kernel k: total max((ceil(n/s)-1)s + k - n, 0), extra after."""

    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x):
        pads = []
        for dim, k, s in ((3, self.kernel[1], self.stride[1]), (2, self.kernel[0], self.stride[0])):
            n = x.shape[dim]
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads) if any(pads) else x


def conv_layer(cfg, weights, name, depthwise):
    kernel = weights[f"{name}/depthwise_kernel" if depthwise else f"{name}/kernel"]
    kh, kw = cfg["kernel_size"]
    if cfg.get("dilation_rate", [1, 1]) != [1, 1]:
        raise ValueError(f"{name}: dilation not supported")
    if depthwise:
        channels, mult = kernel.shape[2], kernel.shape[3]
        conv = nn.Conv2d(channels, channels * mult, (kh, kw), tuple(cfg["strides"]), groups=channels, bias=cfg["use_bias"])
        conv.weight.data = torch.from_numpy(kernel.transpose(2, 3, 0, 1).reshape(channels * mult, 1, kh, kw).copy())
    else:
        conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], (kh, kw), tuple(cfg["strides"]), bias=cfg["use_bias"])
        conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
    if cfg["use_bias"]:
        conv.bias.data = torch.from_numpy(weights[f"{name}/bias"].copy())
    if cfg.get("activation", "linear") != "linear":
        raise ValueError(f"{name}: fused activation {cfg['activation']} not supported")
    if cfg["padding"] == "same":
        return nn.Sequential(SamePad((kh, kw), tuple(cfg["strides"])), conv)
    return conv


def batch_norm(cfg, weights, name):
    channels = weights[f"{name}/moving_mean"].shape[0]
    bn = nn.BatchNorm2d(channels, eps=cfg["epsilon"])
    bn.weight.data = torch.from_numpy(weights[f"{name}/gamma"].copy()) if cfg["scale"] else torch.ones(channels)
    bn.bias.data = torch.from_numpy(weights[f"{name}/beta"].copy()) if cfg["center"] else torch.zeros(channels)
    bn.running_mean.data = torch.from_numpy(weights[f"{name}/moving_mean"].copy())
    bn.running_var.data = torch.from_numpy(weights[f"{name}/moving_variance"].copy())
    return bn


def relu(cfg):
    if cfg.get("negative_slope", 0) or cfg.get("threshold", 0):
        raise ValueError("leaky/thresholded ReLU not supported")
    return nn.ReLU6() if cfg.get("max_value") == 6 else nn.ReLU() if cfg.get("max_value") is None else nn.Hardtanh(0, cfg["max_value"])


class Dense(nn.Module):
    def __init__(self, cfg, weights, name, drop_softmax):
        super().__init__()
        kernel = weights[f"{name}/kernel"]
        self.linear = nn.Linear(kernel.shape[0], kernel.shape[1], bias=cfg["use_bias"])
        self.linear.weight.data = torch.from_numpy(kernel.T.copy())
        if cfg["use_bias"]:
            self.linear.bias.data = torch.from_numpy(weights[f"{name}/bias"].copy())
        act = cfg["activation"]
        if act not in ("linear", "relu", "softmax") or (act == "softmax" and not drop_softmax):
            raise ValueError(f"{name}: activation {act} not supported here")
        self.act = nn.ReLU() if act == "relu" else nn.Identity()

    def forward(self, x):
        return self.act(self.linear(x))


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class Add(nn.Module):
    def forward(self, *xs):
        return sum(xs[1:], xs[0])


class Graph(nn.Module):
    """A Keras functional Model: layers run in file order, each fed by its inbound nodes."""

    def __init__(self, cfg, weights, is_last):
        super().__init__()
        self.order, self.inbound = [], {}
        self.mods = nn.ModuleDict()
        for layer in cfg["layers"]:
            name = layer["config"]["name"]
            self.order.append(name)
            nodes = layer["inbound_nodes"]
            if len(nodes) > 1:
                raise ValueError(f"{name}: shared layers not supported")
            self.inbound[name] = [n[0] for n in nodes[0]] if nodes else []
            if layer["class_name"] != "InputLayer":
                self.mods[name] = build_layer(layer, weights, is_last and name == cfg["output_layers"][0][0])
        self.input_name = cfg["input_layers"][0][0]
        self.output_name = cfg["output_layers"][0][0]

    def forward(self, x):
        values = {self.input_name: x}
        for name in self.order:
            if name != self.input_name:
                values[name] = self.mods[name](*(values[i] for i in self.inbound[name]))
        return values[self.output_name]


def build_layer(layer, weights, is_last=False):
    kind, cfg = layer["class_name"], layer["config"]
    name = cfg.get("name")
    if kind == "Sequential":
        layers = cfg["layers"] if isinstance(cfg, dict) else cfg
        return nn.Sequential(*(build_layer(l, weights, is_last and i == len(layers) - 1) for i, l in enumerate(layers)))
    if kind == "Model":
        return Graph(cfg, weights, is_last)
    if kind == "ZeroPadding2D":
        (top, bottom), (left, right) = cfg["padding"]
        return nn.ZeroPad2d((left, right, top, bottom))
    if kind in ("Conv2D", "DepthwiseConv2D"):
        if kind == "DepthwiseConv2D" and cfg.get("activation", "linear") != "linear":
            raise ValueError(f"{name}: fused activation not supported")
        return conv_layer(cfg, weights, name, kind == "DepthwiseConv2D")
    if kind == "BatchNormalization":
        return batch_norm(cfg, weights, name)
    if kind == "ReLU":
        return relu(cfg)
    if kind == "Add":
        return Add()
    if kind == "GlobalAveragePooling2D":
        return GlobalAvgPool()
    if kind == "Dense":
        return Dense(cfg, weights, name, drop_softmax=is_last)
    raise ValueError(f"layer {kind} ({name}) not supported")


def load_tfjs_model(model_json):
    """The model (eval mode, logits out) from a TF.js layers model.json; input NCHW float32."""
    spec = json.load(open(model_json))
    weights = read_weights(os.path.dirname(model_json), spec["weightsManifest"])
    model = build_layer(spec["modelTopology"], weights, is_last=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model

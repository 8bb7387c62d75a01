"""Makes the .tflite test fixtures with Google's own tools (litert-torch, AI Edge Quantizer).

Converts three small PyTorch modules (an MLP, a conv1d stack with a transposed conv, an attention
block) to .tflite, and saves for each the sample inputs and reference outputs (from PyTorch) as
.npy files under packages/core/fixtures/. Then quantizes the attention block with AI Edge
Quantizer (per-channel int8, per-channel int4, blockwise int4 dynamic-range recipes) so the
reader meets real quantization parameters. Needs the conformance venv
(scripts/setup-conformance.sh) and the overlay venv of setup-fixtures-venv.sh:

    .venv-torch/bin/python packages/core/scripts/make-fixtures.py
"""

import os

import numpy as np
import torch
import litert_torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(16, 32)
        self.fc2 = torch.nn.Linear(32, 32)
        self.fc3 = torch.nn.Linear(32, 8)

    def forward(self, x):
        x = torch.nn.functional.gelu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return torch.softmax(self.fc3(x), dim=-1)


class ConvStack(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv1d(2, 8, kernel_size=5, padding=2)
        self.c2 = torch.nn.Conv1d(8, 16, kernel_size=3, stride=2, padding=1)
        self.up = torch.nn.ConvTranspose1d(16, 8, kernel_size=4, stride=2, padding=1)
        self.out = torch.nn.Conv1d(8, 2, kernel_size=1)

    def forward(self, x):
        x = torch.nn.functional.silu(self.c1(x))
        x = torch.tanh(self.c2(x))
        x = self.up(x)
        return self.out(x)


class Attention(torch.nn.Module):
    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.heads = heads
        self.norm = torch.nn.LayerNorm(dim)
        self.qkv = torch.nn.Linear(dim, 3 * dim)
        self.proj = torch.nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        h = self.norm(x)
        q, k, v = self.qkv(h).chunk(3, dim=-1)
        q = q.reshape(b, n, self.heads, d // self.heads).transpose(1, 2)
        k = k.reshape(b, n, self.heads, d // self.heads).transpose(1, 2)
        v = v.reshape(b, n, self.heads, d // self.heads).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, n, d)
        return x + self.proj(y)


def make(name, module, inputs):
    torch.manual_seed(0)
    module = module.eval()
    with torch.no_grad():
        ref = module(*inputs)
    edge = litert_torch.convert(module, tuple(inputs))
    path = os.path.join(OUT, f"{name}.tflite")
    edge.export(path)
    for i, x in enumerate(inputs):
        np.save(os.path.join(OUT, f"{name}.input{i}.npy"), x.numpy())
    outs = ref if isinstance(ref, (tuple, list)) else (ref,)
    for i, y in enumerate(outs):
        np.save(os.path.join(OUT, f"{name}.output{i}.npy"), y.numpy())
    # Also check that LiteRT reproduces PyTorch on the converted file.
    got = edge(*inputs)
    got = got if isinstance(got, (tuple, list)) else (got,)
    err = max(float(np.max(np.abs(np.asarray(g) - y.numpy()))) for g, y in zip(got, outs))
    print(f"{name}: {os.path.getsize(path)} bytes, max |litert - torch| = {err:.3g}")


def quantize(src, name, num_bits, granularity):
    from ai_edge_quantizer import qtyping, quantizer, recipe_manager

    rm = recipe_manager.RecipeManager()
    rm.add_dynamic_config(regex=".*", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
                          num_bits=num_bits, granularity=granularity)
    qt = quantizer.Quantizer(os.path.join(OUT, f"{src}.tflite"))
    qt.load_quantization_recipe(rm.get_quantization_recipe())
    res = qt.quantize()
    path = os.path.join(OUT, f"{name}.tflite")
    if os.path.exists(path):
        os.remove(path)
    res.export_model(path)
    print(f"{name}: {os.path.getsize(path)} bytes")


def main():
    from ai_edge_quantizer import qtyping

    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    make("mlp", MLP(), [torch.randn(4, 16)])
    torch.manual_seed(1)
    make("conv1d", ConvStack(), [torch.randn(1, 2, 64)])
    torch.manual_seed(2)
    make("attention", Attention(), [torch.randn(1, 10, 32)])
    G = qtyping.QuantGranularity
    quantize("attention", "attention_int8", 8, G.CHANNELWISE)
    quantize("attention", "attention_int4", 4, G.CHANNELWISE)
    quantize("attention", "attention_int4_block32", 4, G.BLOCKWISE_32)


main()

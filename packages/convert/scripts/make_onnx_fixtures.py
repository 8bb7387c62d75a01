#!/usr/bin/env python3
"""Makes the small ONNX fixtures of the convert package's ONNX tests (dev-time; `.venv-torch` with
onnx + onnxruntime). Each model is a tiny instance of a reference module, exported with
torch.onnx.export (TorchScript exporter, opset 17); its input and onnxruntime's output are saved
as .npy next to it. Usage: .venv-torch/bin/python packages/convert/scripts/make_onnx_fixtures.py
"""
import os
import sys

import numpy as np
import onnxruntime as ort
import torch

torch.manual_seed(0)
torch.set_grad_enabled(False)
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "onnx")
os.makedirs(OUT, exist_ok=True)


def export(name, module, inputs, input_names, opset=17, external=False):
    module = module.eval()
    path = os.path.join(OUT, f"{name}.onnx")
    torch.onnx.export(module, tuple(inputs), path, input_names=input_names, output_names=["out"],
                      opset_version=opset, dynamo=False, do_constant_folding=True)
    if external:  # initializers in a side file (ONNX external data)
        import onnx

        m = onnx.load(path)
        onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                  location=f"{name}.onnx.data", size_threshold=0)
    sess = ort.InferenceSession(path)
    feed = {n: i.numpy() for n, i in zip(input_names, inputs)}
    (ort_out,) = sess.run(["out"], feed)
    ref = module(*inputs).numpy()
    print(name, os.path.getsize(path), "bytes; ort vs torch max abs", float(np.abs(ort_out - ref).max()))
    for n, i in feed.items():
        np.save(os.path.join(OUT, f"{name}_in_{n}.npy"), i)
    np.save(os.path.join(OUT, f"{name}_out.npy"), ort_out)


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln = torch.nn.LayerNorm(16)
        self.fc1 = torch.nn.Linear(16, 32)
        self.fc2 = torch.nn.Linear(32, 8)

    def forward(self, x):
        h = torch.nn.functional.gelu(self.fc1(self.ln(x)))
        return torch.softmax(self.fc2(h), dim=-1) + torch.sigmoid(h).mean(dim=-1, keepdim=True)


class ConvNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv1d(3, 8, 5, padding=2, dilation=1)
        self.c2 = torch.nn.Conv1d(8, 8, 3, padding=3, dilation=3, groups=8)
        self.t = torch.nn.ConvTranspose1d(8, 4, 8, stride=4, padding=2)
        self.c3 = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1)

    def forward(self, x):
        h = torch.tanh(self.c2(torch.relu(self.c1(x))))
        h = self.t(h)  # [1,4,64]
        h = h.reshape(1, 4, 8, 8)
        return self.c3(h).flatten(1)


class Einsums(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(6, 5))

    def forward(self, q, k):
        s = torch.einsum("bhid,bhjd->bhij", q, k).softmax(-1)
        o = torch.einsum("bhij,bhjd->bihd", s, k)
        return torch.einsum("bihd,de->bhie", o, self.w).sum(1)


class MaskPool(torch.nn.Module):
    """Dynamic comparisons/Where (attention-mask style) and pooling."""

    def forward(self, x, m):
        y = torch.where(m > 0.5, x, torch.zeros_like(x) - 1.0)
        y = torch.where(x < y, y * 2.0, y)
        p = torch.nn.functional.max_pool1d(y, 2)[..., :3] + torch.nn.functional.avg_pool1d(y, 4, 2)
        return p + y.mean(dim=-1, keepdim=True)


def main():
    export("mlp", MLP(), [torch.randn(2, 5, 16)], ["x"])
    export("mlp_opset13_external", MLP(), [torch.randn(2, 5, 16)], ["x"], opset=13, external=True)
    export("mlp_opset20", MLP(), [torch.randn(2, 5, 16)], ["x"], opset=20)
    export("einsum", Einsums(), [torch.randn(2, 3, 4, 6), torch.randn(2, 3, 7, 6)], ["q", "k"])
    export("convnet", ConvNet(), [torch.randn(1, 3, 16)], ["x"])
    export("mask_pool", MaskPool(), [torch.randn(1, 3, 8), torch.rand(1, 3, 8)], ["x", "m"])
    try:
        from stable_audio_tools.models.transformer import TransformerBlock
        from stable_audio_tools.models.autoencoders import DecoderBlock

        blk = TransformerBlock(64, dim_heads=32, cross_attend=True, dim_context=64, zero_init_branch_outputs=False,
                               attn_kwargs={"qk_norm": "ln"})
        export("dit_block", blk, [torch.randn(1, 10, 64), torch.randn(1, 7, 64)], ["x", "context"])
        dec = DecoderBlock(16, 8, stride=4, use_snake=True)
        export("oobleck_decoder_block", dec, [torch.randn(1, 16, 12)], ["x"])
    except Exception as e:  # the reference package is optional for this script
        print("stable-audio-tools blocks skipped:", e, file=sys.stderr)
    try:
        from transformers import T5Config, T5EncoderModel

        t5 = T5EncoderModel(T5Config(vocab_size=100, d_model=32, num_layers=2, num_heads=4, d_kv=8, d_ff=64,
                                     dropout_rate=0.0)).eval()

        class T5Wrap(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, ids, mask):
                return self.m(input_ids=ids, attention_mask=mask).last_hidden_state

        ids = torch.randint(2, 100, (1, 12))
        mask = torch.ones(1, 12, dtype=torch.long)
        mask[0, 9:] = 0
        export("t5_encoder", T5Wrap(t5), [ids, mask], ["ids", "mask"])
    except Exception as e:
        print("t5 skipped:", e, file=sys.stderr)


if __name__ == "__main__":
    main()

"""The Oobleck decoder's receptive-field margin in the PyTorch reference (stable-audio-tools' OobleckDecoder).

Decodes seeded random latents whole and cropped to n latent frames and prints, per crop, the first output
sample that differs from the full decode (any bit, and beyond --tol of its peak): n·hop minus that index is the
margin the crop's zero padding reaches back. Narrow channels (the margin depends on kernels, dilations and
strides, not on widths) keep it cheap; strides default to SAO-small's. Dev-time only (.venv-torch):

  .venv-torch/bin/python packages/stable-audio/scripts/decode_margin_reference.py [--strides 2,4,4,8,8]
      [--frames 48] [--crops 40,36,30] [--channels 4] [--tol 1e-5]
"""

import argparse
import json

import numpy as np
import torch
from stable_audio_tools.models.autoencoders import OobleckDecoder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--strides", default="2,4,4,8,8")
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--crops", default="40,36,30")
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--latent-dim", type=int, default=64)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    strides = [int(s) for s in a.strides.split(",")]
    hop = int(np.prod(strides))
    dec = OobleckDecoder(out_channels=2, channels=a.channels, latent_dim=a.latent_dim, c_mults=[1, 2, 4, 8, 16][: len(strides)],
                         strides=strides, use_snake=True, final_tanh=False).eval()
    # Snake α/β are zeros at init (exp(0) = 1): randomise them as trained weights would be.
    with torch.no_grad():
        for name, p in dec.named_parameters():
            if name.endswith(".alpha") or name.endswith(".beta"):
                p.copy_(torch.randn_like(p) * 0.3)
    z = torch.from_numpy(np.random.default_rng(a.seed).standard_normal((1, a.latent_dim, a.frames)).astype(np.float32))
    with torch.no_grad():
        full = dec(z)[0].numpy()
        peak = float(np.abs(full).max())
        rows = []
        for n in [int(c) for c in a.crops.split(",")]:
            part = dec(z[:, :, :n])[0].numpy()
            d = np.abs(part - full[:, : n * hop]).max(axis=0)
            def reach(t: float) -> int:  # samples before the crop's end that differ by more than t
                return n * hop - (int(np.argmax(d > t)) if (d > t).any() else n * hop)

            # PyTorch's conv kernels block by length, so float rounding differs everywhere (the bit-level column
            # is not a margin there); LiteRT's XNNPACK is bit-equal away from the edge (decode-margin.mjs).
            rows.append({"frames": n, "marginAnyBit": reach(0.0), "marginAt1e-6": reach(1e-6 * peak),
                         "marginAtTol": reach(a.tol * peak)})
    print(json.dumps({"strides": strides, "hop": hop, "tol": a.tol, "peak": peak, "crops": rows}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The Python peers of `npm run bench:peers` (dev-time only; scripts/bench-peers.mjs drives them).

One clip per process, then one JSON line on stdout (the last line):

  torch   stable-audio-tools 0.0.19 as its users run it: create_model_from_config + the checkpoint, then
          generate_diffusion_cond (its T5 conditioner, its sample_rf/ping-pong loop, its Oobleck decoder),
          fp32, torch.set_num_threads(threads). Run with .venv-torch's interpreter.
  litert  Google's ai-edge-litert (CompiledModel API, XNNPACK on the CPU) on the same .tflite files the SDK
          runs, with the SDK's loop (ping-pong in float32, as @audiogen/sampler computes it). Run with .venv's.

Both read the clip description the driver wrote (--clip clip.json: prompt, seed, seconds, steps, schedule,
token ids) and its noise (noise.npy: the SDK's Philox noise for the seed, row 0 the initial latent, row i+1
the noise of step i), so all peers compute the same clip from the same numbers. Stages: conditioners
(tokenizer + T5 + seconds), DiT (every step and the sampler arithmetic), decoder; each with wall time,
process CPU time (all threads) and peak RSS (VmHWM, reset at every stage boundary).
"""
import argparse
import json
import os
import sys
import time


def status_mb():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0]) / 1024
    return out


def reset_peak():
    # clear_refs 5 resets VmHWM, so each stage reports its own peak (as bench.mjs does for the SDK).
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class Stages:
    """Cuts wall time, process CPU time and peak RSS at stage boundaries."""

    def __init__(self):
        self.t = time.perf_counter()
        self.c = time.process_time()
        self.out = {}
        reset_peak()

    def cut(self, name):
        t, c = time.perf_counter(), time.process_time()
        s = status_mb()
        prev = self.out.get(name)
        row = {"ms": (t - self.t) * 1000, "cpuMs": (c - self.c) * 1000, "peakMB": s["VmHWM"], "endMB": s["VmRSS"]}
        if prev:  # a stage cut twice (not expected) adds up
            row = {k: (max(prev[k], row[k]) if k in ("peakMB", "endMB") else prev[k] + row[k]) for k in row}
        self.out[name] = row
        self.t, self.c = t, c
        reset_peak()
        return row


def load_clip(path):
    import numpy as np

    clip = json.load(open(path))
    noise = np.load(clip["noise"]).astype(np.float32)
    return clip, noise


def save(path, arr):
    import numpy as np

    np.save(path, np.ascontiguousarray(arr, dtype=np.float32))


# ------------------------------------------------------------------------------------------------ torch


def run_torch(a, stages):
    import numpy as np
    import torch

    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    import transformers
    from safetensors.torch import load_file
    from stable_audio_tools.inference.generation import generate_diffusion_cond
    from stable_audio_tools.models.conditioners import T5Conditioner
    from stable_audio_tools.models.factory import create_model_from_config

    clip, noise = load_clip(a.clip)
    ck = a.checkpoint
    cfg = json.load(open(os.path.join(ck, "checkpoint", "model_config.json")))
    t5dir = os.path.join(ck, "t5")
    t5cfg = json.load(open(os.path.join(t5dir, "config.json")))
    # No network here: T5Conditioner's from_pretrained("t5-base") reads the checkpoint's own T5 folder (its
    # random weights and the model folder's spiece.model). A tiny development model has a narrower T5.
    T5Conditioner.T5_MODEL_DIMS = {**T5Conditioner.T5_MODEL_DIMS, "t5-base": t5cfg["d_model"]}
    enc_from = transformers.T5EncoderModel.from_pretrained
    tok_from = transformers.AutoTokenizer.from_pretrained
    transformers.T5EncoderModel.from_pretrained = lambda name, *x, **k: enc_from(t5dir, *x, **k)
    transformers.AutoTokenizer.from_pretrained = lambda name, *x, **k: transformers.T5Tokenizer(
        vocab_file=os.path.join(t5dir, "spiece.model"), extra_ids=0, legacy=False, **k
    )
    try:
        model = create_model_from_config(cfg)
    finally:
        transformers.T5EncoderModel.from_pretrained = enc_from
        transformers.AutoTokenizer.from_pretrained = tok_from
    sd = load_file(os.path.join(ck, "checkpoint", "model.safetensors"))
    missing, unexpected = model.load_state_dict(sd, strict=False, assign=True)
    if missing or unexpected:
        raise SystemExit(f"checkpoint does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    del sd
    prompt_cond = model.conditioner.conditioners["prompt"]
    # The reference casts T5 to fp16 when it loads it (a GPU choice; CPU fp16 matmuls are slow, and the cast
    # rounds the weights): the benchmark's reference is fp32 throughout, so T5 is loaded again, in fp32.
    prompt_cond.__dict__["model"] = enc_from(t5dir).eval().requires_grad_(False)
    model.eval()
    ids = prompt_cond.tokenizer([clip["prompt"]], truncation=True, max_length=prompt_cond.max_length)["input_ids"][0]

    # Stage boundaries from the reference's own calls, and the SDK's noise in place of torch's generator.
    captured = {}
    cond_fwd = model.conditioner.forward

    def conditioner(*x, **k):
        r = cond_fwd(*x, **k)
        stages.cut("conditioners")
        return r

    dit_fwd = model.model.forward
    step_ms = []

    def dit(*x, **k):
        if "cross" not in captured and k.get("cross_attn_cond") is not None:
            captured["cross"] = k["cross_attn_cond"].detach().numpy().copy()
        t0 = time.perf_counter()
        r = dit_fwd(*x, **k)
        step_ms.append((time.perf_counter() - t0) * 1000)
        return r

    decode = model.pretransform.decode

    def decoder(z, *x, **k):
        stages.cut("dit")
        captured["latents"] = z.detach().numpy().copy()
        r = decode(z, *x, **k)
        stages.cut("decoder")
        return r

    model.conditioner.forward = conditioner
    model.model.forward = dit
    model.pretransform.decode = decoder

    rows = iter(range(noise.shape[0]))
    draws = [0]

    def next_noise(shape):
        draws[0] += 1
        i = next(rows, None)
        n = int(np.prod(shape))
        if i is None:  # the last ping-pong step draws noise it multiplies by t = 0
            return torch.zeros(shape)
        assert noise.shape[1] == n, f"noise of {noise.shape[1]} values for a draw of shape {tuple(shape)}"
        return torch.from_numpy(noise[i].reshape(shape).copy())

    randn, randn_like = torch.randn, torch.randn_like
    torch.randn = lambda *shape, **k: next_noise(list(shape[0]) if len(shape) == 1 and isinstance(shape[0], (list, tuple, torch.Size)) else list(shape))
    torch.randn_like = lambda x, **k: next_noise(list(x.shape))
    try:
        stages.cut("load")
        audio = generate_diffusion_cond(
            model,
            steps=clip["steps"],
            cfg_scale=clip["cfgScale"],
            conditioning=[{"prompt": clip["prompt"], "seconds_total": clip["seconds"]}],
            sample_size=cfg["sample_size"],
            seed=clip["seed"],
            device="cpu",
            sampler_type="pingpong",
        )
        stages.cut("tail")
    finally:
        torch.randn, torch.randn_like = randn, randn_like
    if draws[0] != clip["steps"] + 1:
        raise SystemExit(f"the reference drew noise {draws[0]} times, expected {clip['steps'] + 1}")
    if len(step_ms) != clip["steps"]:
        raise SystemExit(f"the reference called the DiT {len(step_ms)} times, expected {clip['steps']} (cfg 1)")
    audio = audio[0].numpy()  # [2, frames]
    save(os.path.join(a.out, "audio.npy"), audio)
    save(os.path.join(a.out, "latents.npy"), captured["latents"])
    save(os.path.join(a.out, "cross.npy"), captured["cross"])
    import stable_audio_tools  # noqa: F401  (version below)
    from importlib.metadata import version

    return {
        "stepMs": step_ms,
        "tokenIds": [int(i) for i in ids],
        "build": {
            "torch": torch.__version__,
            "stableAudioTools": version("stable-audio-tools"),
            "cpuCapability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(),
        },
    }


# ----------------------------------------------------------------------------------------------- litert


class Model:
    """One .tflite file on LiteRT's CompiledModel API, buffers made once, inputs and outputs by name."""

    def __init__(self, path, threads, flags=None):
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator
        from ai_edge_litert.options import CpuOptions, Options

        cpu = CpuOptions(num_threads=threads, xnnpack_flags=flags) if flags else CpuOptions(num_threads=threads)
        self.cm = CompiledModel.from_file(path, options=Options(hardware_accelerators=HardwareAccelerator.CPU, cpu_options=cpu))
        self.key = list(self.cm.get_signature_list().keys())[0]
        sig = self.cm.get_signature_list()[self.key]
        self.inputs, self.outputs = sig["inputs"], sig["outputs"]
        self.ins = self.cm.create_input_buffers(0)
        self.outs = self.cm.create_output_buffers(0)
        self.odetails = self.cm.get_output_tensor_details(self.key)

    def run(self, feed):
        import numpy as np

        for name, buf in zip(self.inputs, self.ins):
            v = np.ascontiguousarray(feed[name])
            # TensorBuffer.write takes no int64: the same bytes as int32 pairs (the buffer is raw memory).
            buf.write(v.view(np.int32) if v.dtype == np.int64 else v)
        self.cm.run_by_index(0, self.ins, self.outs)
        out = {}
        for name, buf in zip(self.outputs, self.outs):
            d = self.odetails[name]
            out[name] = buf.read(int(np.prod(d["shape"])), np.float32).reshape(d["shape"])
        return out


def run_litert(a, stages):
    import numpy as np
    import sentencepiece as spm

    clip, noise = load_clip(a.clip)
    folder = clip["folder"]
    force_fp16 = bool(a.force_fp16)
    # XNNPACK flags as the SDK passes them with FORCE_FP16: QS8 | QU8 | FORCE_FP16.
    cond = Model(os.path.join(folder, clip["files"]["conditioners"]), a.threads)
    dit = Model(a.dit, a.threads)
    dec = Model(a.decoder, a.threads, 0x1 | 0x2 | 0x4 if force_fp16 else None)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, clip["files"]["tokenizer"]))
    stages.cut("load")

    # Conditioners: T5 tokens (SentencePiece ids + EOS, padded; as the SDK's T5Tokenizer), then the model.
    n_tok = clip["tokenLength"]
    ids = sp.encode(clip["prompt"])[: clip["promptTokens"] - 1] + [1]
    input_ids = np.zeros((1, n_tok), np.int64)
    mask = np.zeros((1, n_tok), np.int64)
    input_ids[0, : len(ids)] = ids
    mask[0, : len(ids)] = 1
    c = cond.run({"input_ids": input_ids, "attention_mask": mask, "seconds_total": np.array([clip["seconds"]], np.float32)})
    stages.cut("conditioners")

    # Ping-pong in float32: x̂0 = x − t·v; x = (1 − t')·x̂0 + t'·ε (no noise when t' = 0).
    t = [np.float32(v) for v in clip["schedule"]]
    x = noise[0].reshape(clip["latentShape"]).copy()
    step_ms = []
    feed = {"cross_attn_cond": c["cross_attention_input"], "global_cond": c["global_cond"]}
    for i in range(clip["steps"]):
        t0 = time.perf_counter()
        v = dit.run({**feed, "x": x, "t": np.array([t[i]], np.float32)})["v"]
        step_ms.append((time.perf_counter() - t0) * 1000)
        den = x - t[i] * v
        tn = t[i + 1]
        x = den if tn == 0 else (np.float32(1) - tn) * den + tn * noise[i + 1].reshape(x.shape)
    stages.cut("dit")
    audio = dec.run({"latents": x})["audio"]  # [2, frames] planar
    stages.cut("decoder")
    stages.cut("tail")
    save(os.path.join(a.out, "audio.npy"), audio)
    save(os.path.join(a.out, "latents.npy"), x)
    save(os.path.join(a.out, "cross.npy"), c["cross_attention_input"])
    from importlib.metadata import version

    return {
        "stepMs": step_ms,
        "tokenIds": [int(i) for i in ids],
        "build": {"aiEdgeLitert": version("ai-edge-litert"), "api": "CompiledModel (Python)", "forceFp16": force_fp16},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("peer", choices=["torch", "litert"])
    ap.add_argument("--clip", required=True, help="clip.json written by bench-peers.mjs")
    ap.add_argument("--out", required=True, help="folder for audio.npy, latents.npy, cross.npy")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--checkpoint", help="torch: the folder with checkpoint/ and t5/")
    ap.add_argument("--dit", help="litert: the DiT file")
    ap.add_argument("--decoder", help="litert: the decoder file")
    ap.add_argument("--force-fp16", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    stages = Stages()
    r = run_torch(a, stages) if a.peer == "torch" else run_litert(a, stages)
    s = stages.out
    clip_stages = [s[k] for k in ("conditioners", "dit", "decoder", "tail")]
    r["stages"] = s
    r["clip"] = {
        "ms": sum(x["ms"] for x in clip_stages),
        "cpuMs": sum(x["cpuMs"] for x in clip_stages),
        "peakMB": max(x["peakMB"] for x in clip_stages),
    }
    r["peakMB"] = max(x["peakMB"] for x in s.values())
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Faithfulness check of @audiogen/convert's Stable Audio builders (dev-time only).

Run by `conformance.ts` (see README), with the `.venv-torch` interpreter (scripts/setup-conformance.sh):
the TS driver has written, into WORK:
  model.safetensors      random weights with the real SAO key names (DiT, seconds conditioner, VAE)
  model_config.json      the stable-audio-tools config of the same model
  t5/model.safetensors, t5/config.json   random weights with HF T5EncoderModel key names
  out/*.tflite           our converter's output built from those files
This script runs the reference PyTorch modules (stable-audio-tools 0.0.19, transformers'
T5EncoderModel) on the same weights and inputs, runs our .tflite files with LiteRT, and prints
cosine similarity and max abs error per model output as JSON. With --reference DIR it also saves the
inputs and PyTorch outputs as .npy (the small fixture a CI test compares LiteRT against).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from safetensors.torch import load_file

torch.set_grad_enabled(False)
torch.manual_seed(0)


def cosine(a, b):
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))


def compare(name, ours, ref):
    ours = np.asarray(ours, np.float32)
    ref = np.asarray(ref, np.float32)
    if ours.shape != ref.shape:
        return {"name": name, "error": f"shape {ours.shape} vs reference {ref.shape}"}
    return {
        "name": name,
        "shape": list(ref.shape),
        "cosine": cosine(ours, ref),
        "max_abs": float(np.abs(ours - ref).max()),
        "ref_max_abs": float(np.abs(ref).max()),
        "finite": bool(np.isfinite(ours).all()),
    }


def sub(sd, prefix):
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def run_tflite(path, feed):
    from ai_edge_litert.interpreter import Interpreter

    threads = int(os.environ.get("CONFORMANCE_THREADS", "2"))
    it = Interpreter(model_path=path, num_threads=threads)
    runner = it.get_signature_runner("serving_default")
    t0 = time.time()
    out = runner(**feed)
    return out, time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--reference", help="save inputs and PyTorch outputs as .npy here")
    ap.add_argument("--models", default="conditioners,dit,dit_arm,decoder,encoder")
    ap.add_argument("--min-cosine", type=float, default=0.99999, help="the check every output must pass")
    args = ap.parse_args()
    W = args.work
    models = set(args.models.split(","))
    cfg = json.load(open(os.path.join(W, "model_config.json")))
    t5cfg = json.load(open(os.path.join(W, "t5", "config.json"))) if "conditioners" in models else None
    sd = load_file(os.path.join(W, "model.safetensors"))
    m = cfg["model"]
    dcfg = m["diffusion"]["config"]
    pcfg = m["pretransform"]["config"]
    cond_dim = m["conditioning"]["cond_dim"]
    prompt_len = m["conditioning"]["configs"][0]["config"]["max_length"]
    num_cfg = m["conditioning"]["configs"][1]["config"]
    latent_dim = pcfg["latent_dim"]
    latent_len = cfg["sample_size"] // pcfg["downsampling_ratio"]
    rng = np.random.RandomState(1234)
    results = []
    ref_out = {}
    out_dir = os.path.join(W, "out")

    if "conditioners" in models:
        from transformers import T5Config, T5EncoderModel
        from stable_audio_tools.models.conditioners import NumberConditioner

        t5 = T5EncoderModel(T5Config(**t5cfg)).eval()
        t5sd = load_file(os.path.join(W, "t5", "model.safetensors"))
        missing, unexpected = t5.load_state_dict(t5sd, strict=False)
        assert not unexpected and all("embed_tokens" in k for k in missing), (missing, unexpected)
        num = NumberConditioner(cond_dim, num_cfg["min_val"], num_cfg["max_val"]).eval()
        num.load_state_dict(sub(sd, "conditioner.conditioners.seconds_total."), strict=True)
        L = 128
        n_tok = 23
        ids = np.zeros((1, L), np.int64)
        ids[0, : n_tok - 1] = rng.randint(2, 32000, n_tok - 1)
        ids[0, n_tok - 1] = 1
        mask = np.zeros((1, L), np.int64)
        mask[0, :n_tok] = 1
        seconds = np.array([10.0], np.float32)
        h = t5(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
        h = h[:, :prompt_len] * torch.from_numpy(mask[:, :prompt_len]).float().unsqueeze(-1)
        emb, _ = num([float(seconds[0])])
        ref_cross = torch.cat([h, emb], dim=1).numpy()
        ref_masks = np.concatenate([mask[:, :prompt_len].astype(np.float32), np.ones((1, 1), np.float32)], 1)
        ref_global = emb[:, 0].numpy()
        # The reference conditioner tokenizes to max_length 64: check the truncation is equivalent.
        h64 = t5(input_ids=torch.from_numpy(ids[:, :prompt_len]), attention_mask=torch.from_numpy(mask[:, :prompt_len])).last_hidden_state
        h64 = (h64 * torch.from_numpy(mask[:, :prompt_len]).float().unsqueeze(-1)).numpy()
        feed = {"input_ids": ids, "attention_mask": mask, "seconds_total": seconds}
        out, dt = run_tflite(os.path.join(out_dir, "conditioners.tflite"), feed)
        results.append(compare("conditioners.cross_attention_input", out["cross_attention_input"], ref_cross))
        results.append(compare("conditioners.cross_attention_masks", out["cross_attention_masks"], ref_masks))
        results.append(compare("conditioners.global_cond", out["global_cond"], ref_global))
        results.append(compare("conditioners.t5_128_vs_64_tokens(reference)", ref_cross[:, :prompt_len], h64))
        results[-4]["seconds"] = dt
        ref_out.update({"cond_input_ids": ids, "cond_attention_mask": mask, "cond_seconds_total": seconds,
                        "cond_cross_attention_input": ref_cross, "cond_global_cond": ref_global})

    if "dit" in models or "dit_arm" in models:
        from stable_audio_tools.models.dit import DiffusionTransformer

        dit = DiffusionTransformer(
            io_channels=dcfg["io_channels"], embed_dim=dcfg["embed_dim"], depth=dcfg["depth"],
            num_heads=dcfg["num_heads"], cond_token_dim=dcfg["cond_token_dim"],
            global_cond_dim=dcfg["global_cond_dim"], transformer_type="continuous_transformer",
            attn_kwargs=dcfg.get("attn_kwargs", {}),
        ).eval()
        missing, unexpected = dit.load_state_dict(sub(sd, "model.model."), strict=False)
        assert not missing and not unexpected, (missing, unexpected)
        x = rng.randn(1, dcfg["io_channels"], latent_len).astype(np.float32)
        t = np.array([0.731059], np.float32)
        cross = rng.randn(1, prompt_len + 1, dcfg["cond_token_dim"]).astype(np.float32)
        glob = rng.randn(1, dcfg["global_cond_dim"]).astype(np.float32)
        feed = {"x": x, "t": t, "cross_attn_cond": cross, "global_cond": glob}
        for variant in ("dit", "dit_arm"):
            if variant not in models:
                continue
            path = os.path.join(out_dir if variant == "dit" else os.path.join(W, "out_arm"), "dit_model.tflite")
            if not os.path.exists(path):
                continue
            ge = None if variant == "dit_arm" else torch.from_numpy(glob)
            ref = dit(torch.from_numpy(x), torch.from_numpy(t), cross_attn_cond=torch.from_numpy(cross),
                      global_embed=ge, cfg_scale=1.0).numpy()
            out, dt = run_tflite(path, feed)
            r = compare(f"{variant}.v", out["v"], ref)
            r["seconds"] = dt
            results.append(r)
            if variant == "dit":
                ref_out.update({"dit_x": x, "dit_t": t, "dit_cross_attn_cond": cross, "dit_global_cond": glob, "dit_v": ref})

    if "decoder" in models:
        from stable_audio_tools.models.autoencoders import OobleckDecoder

        dc = pcfg["decoder"]["config"]
        dec = OobleckDecoder(out_channels=dc["out_channels"], channels=dc["channels"], latent_dim=dc["latent_dim"],
                             c_mults=dc["c_mults"], strides=dc["strides"], use_snake=True, final_tanh=False).eval()
        dec.load_state_dict(sub(sd, "pretransform.model.decoder."), strict=True)
        z = rng.randn(1, latent_dim, latent_len).astype(np.float32)
        ref = dec(torch.from_numpy(z))  # [1, 2, n]
        ref = ref.permute(1, 0, 2).reshape(ref.shape[1], -1).numpy()  # Arm's [2, b·n]
        # out: the converter's default forms; out_native: every layer native; out_rewrites: every graph rewrite
        # (transposed convs as CONV_2D + RESHAPE, the 4-op Snake).
        for sub_dir, label in (("out", "decoder"), ("out_native", "decoder_native"), ("out_rewrites", "decoder_rewrites")):
            path = os.path.join(W, sub_dir, "autoencoder_model.tflite")
            if not os.path.exists(path):
                continue
            out, dt = run_tflite(path, {"latents": z})
            r = compare(f"{label}.audio", out["audio"], ref)
            r["seconds"] = dt
            results.append(r)
        ref_out.update({"dec_latents": z, "dec_audio": ref})

    if "encoder" in models and os.path.exists(os.path.join(out_dir, "autoencoder_encoder.tflite")):
        from stable_audio_tools.models.autoencoders import OobleckEncoder
        from stable_audio_tools.models.bottleneck import VAEBottleneck

        ec = pcfg["encoder"]["config"]
        enc = OobleckEncoder(in_channels=ec["in_channels"], channels=ec["channels"], latent_dim=ec["latent_dim"],
                             c_mults=ec["c_mults"], strides=ec["strides"], use_snake=True).eval()
        enc.load_state_dict(sub(sd, "pretransform.model.encoder."), strict=True)
        audio = (0.5 * rng.randn(1, ec["in_channels"], cfg["sample_size"])).astype(np.float32)
        h = enc(torch.from_numpy(audio))
        mean, _scale = h.chunk(2, dim=1)  # VAEBottleneck.encode samples mean + noise·std; the mean is deterministic
        ref = mean.numpy()
        out, dt = run_tflite(os.path.join(out_dir, "autoencoder_encoder.tflite"), {"audio": audio})
        r = compare("encoder.latents(mean)", out["latents"], ref)
        r["seconds"] = dt
        results.append(r)
        ref_out.update({"enc_audio": audio, "enc_latents": ref})

    if args.reference:
        os.makedirs(args.reference, exist_ok=True)
        for k, v in ref_out.items():
            np.save(os.path.join(args.reference, f"{k}.npy"), v)
    print(json.dumps({"torch": torch.__version__, "results": results}, indent=1))
    ok = all(r.get("cosine", 0) >= args.min_cosine and r.get("finite", False) for r in results if "error" not in r)
    ok = ok and not any("error" in r for r in results)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

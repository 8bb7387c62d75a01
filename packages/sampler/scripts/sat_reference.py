#!/usr/bin/env python3
"""Runs stable-audio-tools 0.0.19's own samplers (inference/sampling.py: sample_rf with euler, rk4,
dpmpp, pingpong) and its CFG rescale formula on a toy rectified-flow model, for the sampler
conformance test (src/conformance.test.ts). Needs the torch venv (scripts/setup-conformance.sh).

stdin: JSON {x, init?, shape, mu, s, steps, sigmaMax, noise: [[...] per step], cfg: {cond, uncond, scale, phi}}
stdout: JSON {schedule, results: {name: [...]}, cfg: [...]}
"""
import json
import sys

import torch
from stable_audio_tools.inference import sampling


def main():
    req = json.load(sys.stdin)
    shape = req['shape']
    C = shape[1]
    mu = torch.tensor(req['mu'], dtype=torch.float32).view(1, C, 1)
    s = torch.tensor(req['s'], dtype=torch.float32).view(1, C, 1)

    def model(x, t):
        t = t.view(-1, 1, 1)
        var = (1 - t) ** 2 * s * s + t * t
        return -mu + (t - (1 - t) * s * s) / var * (x - (1 - t) * mu)

    x = torch.tensor(req['x'], dtype=torch.float32).view(*shape)
    init = torch.tensor(req['init'], dtype=torch.float32).view(*shape) if req.get('init') else None
    noise_steps = [torch.tensor(n, dtype=torch.float32).view(*shape) for n in req['noise']]

    results = {}
    for name in ['euler', 'rk4', 'dpmpp', 'pingpong']:
        draws = iter(noise_steps)
        sampling.torch.randn_like = lambda like, _d=draws: next(_d).clone()
        out = sampling.sample_rf(model, x.clone(), init_data=None if init is None else init.clone(),
                                 steps=req['steps'], sampler_type=name, sigma_max=req['sigmaMax'], device='cpu')
        results[name] = out.flatten().tolist()

    # the schedule sample_rf builds (float32), recomputed the same way
    import math
    sm = min(req['sigmaMax'], 1)
    lmax = math.log(((1 - sm) / sm) + 1e-6) if sm < 1 else -6
    t = torch.sigmoid(-torch.linspace(lmax, 2, req['steps'] + 1))
    t[0] = sm
    t[-1] = 0

    # CFG with rescale, exactly as in stable_audio_tools/models/dit.py
    c = req['cfg']
    cond = torch.tensor(c['cond'], dtype=torch.float32).view(*shape)
    uncond = torch.tensor(c['uncond'], dtype=torch.float32).view(*shape)
    cfg_output = uncond + (cond - uncond) * c['scale']
    cond_out_std = cond.std(dim=1, keepdim=True)
    out_cfg_std = cfg_output.std(dim=1, keepdim=True)
    phi = c['phi']
    cfg = phi * (cfg_output * (cond_out_std / out_cfg_std)) + (1 - phi) * cfg_output

    json.dump({'schedule': t.tolist(), 'results': results, 'cfg': cfg.flatten().tolist()}, sys.stdout)


if __name__ == '__main__':
    main()

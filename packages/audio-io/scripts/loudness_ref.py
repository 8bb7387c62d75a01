"""Reference loudness values from pyloudnorm (an independent BS.1770-4 implementation) for broadband
test signals at several sample rates. Writes <out>/<name>.f32 (interleaved float32) and <out>/ref.json."""
import json
import sys

import numpy as np
import pyloudnorm as pyln

out = sys.argv[1]
rng = np.random.default_rng(20261127)
cases = []


def add(name, rate, x):
    x = np.ascontiguousarray(x, dtype=np.float32)  # frames x channels
    meter = pyln.Meter(rate)  # BS.1770-4, 400 ms blocks, K-weighting
    lufs = float(meter.integrated_loudness(x.astype(np.float64)))
    x.tofile(f"{out}/{name}.f32")
    cases.append({"name": name, "rate": rate, "channels": x.shape[1], "frames": x.shape[0], "pyloudnorm": lufs})


for rate in (16000, 22050, 32000, 44100, 48000, 96000):
    n = rate * 12
    white = rng.standard_normal((n, 2)) * 0.05
    add(f"white_{rate}", rate, white)
    # Pink-ish noise: white noise shaped by 1/sqrt(f) in the frequency domain.
    spec = np.fft.rfft(rng.standard_normal((n, 2)), axis=0)
    f = np.fft.rfftfreq(n, 1 / rate)
    f[0] = f[1]
    pink = np.fft.irfft(spec / np.sqrt(f)[:, None], n=n, axis=0)
    pink *= 0.1 / np.max(np.abs(pink))
    add(f"pink_{rate}", rate, pink)
    # Tone bursts at 50 Hz .. 0.4·rate with silences and level steps (exercises the gates).
    t = np.arange(n) / rate
    freqs = [50, 200, 1000, 4000, min(12000, 0.4 * rate)]
    sig = np.zeros(n)
    seg = n // len(freqs)
    for i, fr in enumerate(freqs):
        lvl = 10 ** (-(10 + 8 * i) / 20)
        sig[i * seg:(i + 1) * seg - seg // 4] = lvl * np.sin(2 * np.pi * fr * t[i * seg:(i + 1) * seg - seg // 4])
    add(f"bursts_{rate}", rate, np.stack([sig, 0.5 * sig], axis=1))

json.dump(cases, open(f"{out}/ref.json", "w"), indent=1)
print(f"wrote {len(cases)} cases")

"""Times one model with the official LiteRT Python runtime (CompiledModel API), for scripts/bench.mjs.

  python py_bench.py <model.tflite> <threads> <runs> [xnnpack_flags]
Prints one JSON line: per-run ms, median, peak RSS, and a checksum of output 0.
Inputs are the same deterministic values bench-one.mjs uses: x[i] = sin(0.001 * i) (float32).
"""
import json
import resource
import sys
import time

import numpy as np
from ai_edge_litert.compiled_model import CompiledModel
from ai_edge_litert.hardware_accelerator import HardwareAccelerator
from ai_edge_litert.options import CpuOptions, Options

serve = "--serve" in sys.argv
argv = [a for a in sys.argv if a != "--serve"]
path, threads, runs = argv[1], int(argv[2]), int(argv[3])
flags = int(argv[4]) if len(argv) > 4 else None
opts = Options(hardware_accelerators=HardwareAccelerator.CPU, cpu_options=CpuOptions(num_threads=threads, xnnpack_flags=flags))
t0 = time.perf_counter()
cm = CompiledModel.from_file(path, options=opts)
load_ms = (time.perf_counter() - t0) * 1000
key = list(cm.get_signature_list().keys())[0]
ins = cm.create_input_buffers(0)
outs = cm.create_output_buffers(0)
details = cm.get_input_tensor_details(key)
for name, buf in zip(cm.get_signature_list()[key]["inputs"], ins):
    n = int(np.prod(details[name]["shape"]))
    buf.write(np.sin(0.001 * np.arange(n, dtype=np.float64)).astype(np.float32))
cm.run_by_index(0, ins, outs)  # warm-up
if serve:  # paired mode (bench.mjs): one timed run per "run" line on stdin
    print(json.dumps({"ready": True, "load_ms": load_ms}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        t, c = time.perf_counter(), time.process_time()
        cm.run_by_index(0, ins, outs)
        print(json.dumps({"ms": (time.perf_counter() - t) * 1000, "cpu_ms": (time.process_time() - c) * 1000}), flush=True)
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
    sys.exit(0)
times = []
for _ in range(runs):
    t = time.perf_counter()
    cm.run_by_index(0, ins, outs)
    times.append((time.perf_counter() - t) * 1000)
od = cm.get_output_tensor_details(key)
oname = cm.get_signature_list()[key]["outputs"][0]
y = outs[0].read(int(np.prod(od[oname]["shape"])), np.float32)
print(json.dumps({"runtime": "python", "load_ms": load_ms, "run_ms": times, "median_ms": float(np.median(times)),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "out0_sum": float(np.sum(y, dtype=np.float64)), "out0_head": [float(v) for v in y[:4]]}))

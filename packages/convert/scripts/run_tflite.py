#!/usr/bin/env python3
"""Runs a .tflite signature with LiteRT (ai-edge-litert) on .npy inputs; writes each output as .npy.

usage: run_tflite.py MODEL OUT_DIR name=input.npy [name=input.npy ...] [--threads N]
Used by the convert package's tests to check built graphs against PyTorch reference outputs.
"""
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def main():
    args = sys.argv[1:]
    threads = 1
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i : i + 2]
    model, out_dir, feeds = args[0], args[1], args[2:]
    it = Interpreter(model_path=model, num_threads=threads)
    runner = it.get_signature_runner("serving_default")
    feed = {}
    for f in feeds:
        name, path = f.split("=", 1)
        feed[name] = np.load(path)
    out = runner(**feed)
    os.makedirs(out_dir, exist_ok=True)
    for k, v in out.items():
        np.save(os.path.join(out_dir, f"{k}.npy"), v)


if __name__ == "__main__":
    main()

"""Runs a .tflite model with the official LiteRT Python runtime (ai-edge-litert) for tests.

stdin: JSON {"model": path, "inputs": [{"npy": path} | {"dtype": str, "shape": [..], "b64": str}],
             "expected": [npy paths] (optional), "api": "interpreter" (default) | "compiled"}
With "compiled", the model runs through the CompiledModel API (signature 0, CPU), as the native
runtime does; inputs/outputs then follow the signature's order.
stdout: JSON {"outputs": [{"name", "dtype", "shape", "b64"}], "max_abs_diff": [..] (if expected)}
Inputs and outputs follow the order of the interpreter's input/output details.
"""

import base64
import json
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def load_input(x):
    if "npy" in x:
        return np.load(x["npy"])
    return np.frombuffer(base64.b64decode(x["b64"]), dtype=x["dtype"]).reshape(x["shape"])


def run_compiled(req):
    from ai_edge_litert.compiled_model import CompiledModel

    cm = CompiledModel.from_file(req["model"])
    sig = cm.get_signature_by_index(0)
    key = sig["key"] if isinstance(sig, dict) and "key" in sig else list(cm.get_signature_list())[0]
    ins = cm.create_input_buffers(0)
    outs = cm.create_output_buffers(0)
    for buf, x in zip(ins, req["inputs"]):
        buf.write(np.ascontiguousarray(load_input(x)))
    cm.run_by_index(0, ins, outs)
    details = cm.get_output_tensor_details(key)
    arrays = []
    for buf, name in zip(outs, details):
        d = details[name]
        shape = list(d["shape"])
        a = np.asarray(buf.read(int(np.prod(shape)), np.dtype(d["dtype"]))).reshape(shape)
        arrays.append((name, a))
    return arrays


def main():
    req = json.load(sys.stdin)
    if req.get("api") == "compiled":
        arrays = run_compiled(req)
        json.dump({"outputs": [{"name": n, "dtype": str(a.dtype), "shape": list(a.shape),
                                "b64": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()}
                               for n, a in arrays]}, sys.stdout)
        return
    it = Interpreter(model_path=req["model"], num_threads=1)
    it.allocate_tensors()
    ins = it.get_input_details()
    if len(ins) != len(req["inputs"]):
        raise SystemExit(f"model has {len(ins)} inputs, got {len(req['inputs'])}")
    for d, x in zip(ins, req["inputs"]):
        if "npy" in x:
            a = np.load(x["npy"])
        else:
            a = np.frombuffer(base64.b64decode(x["b64"]), dtype=x["dtype"]).reshape(x["shape"])
        it.set_tensor(d["index"], a.astype(d["dtype"]))
    it.invoke()
    outs = []
    arrays = []
    for d in it.get_output_details():
        a = np.ascontiguousarray(it.get_tensor(d["index"]))
        arrays.append(a)
        outs.append({"name": d["name"], "dtype": str(a.dtype), "shape": list(a.shape),
                     "b64": base64.b64encode(a.tobytes()).decode()})
    res = {"outputs": outs}
    if "expected" in req:
        diffs = []
        for a, p in zip(arrays, req["expected"]):
            e = np.load(p)
            if e.shape != a.shape:
                diffs.append(float("inf"))
            else:
                diffs.append(float(np.max(np.abs(a.astype(np.float64) - e.astype(np.float64)))) if a.size else 0.0)
        res["max_abs_diff"] = diffs
    json.dump(res, sys.stdout)


main()

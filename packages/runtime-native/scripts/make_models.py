"""Builds the .tflite models used by @audiogen/runtime-native's tests and benchmark.

Dev-time only (runs with the repo's .venv: ai-edge-litert's flatbuffer schema module + numpy).

  python make_models.py fixtures <dir>   small test models + reference outputs computed by the
                                         official LiteRT Python runtime (committed, < 1 MB)
  python make_models.py bench <dir>      real-size FC stack (fp32 and int8 dynamic-range) and
                                         conv1d/transposed-conv stack (not committed)
"""

import json
import os
import sys

import numpy as np
from ai_edge_litert import schema_py_generated as S

TT = {np.float32: S.TensorType.FLOAT32, np.int32: S.TensorType.INT32, np.int64: S.TensorType.INT64,
      np.int8: S.TensorType.INT8, np.float16: S.TensorType.FLOAT16}


class Builder:
    def __init__(self):
        self.m = S.ModelT()
        self.m.version = 3
        self.m.buffers = [S.BufferT()]
        self.m.operatorCodes = []
        self.sg = S.SubGraphT()
        self.sg.tensors, self.sg.operators, self.sg.inputs, self.sg.outputs = [], [], [], []
        self.sg.name = "main"
        self.m.subgraphs = [self.sg]
        self.opcodes = {}
        self.sig_in, self.sig_out = [], []

    def tensor(self, name, shape, dtype=np.float32, data=None, quant=None, shape_signature=None):
        t = S.TensorT()
        t.name = name
        t.shape = list(shape)
        t.type = TT[dtype]
        if shape_signature is not None:
            t.shapeSignature = list(shape_signature)
        if data is not None:
            b = S.BufferT()
            b.data = np.ascontiguousarray(data, dtype=dtype).view(np.uint8).reshape(-1)
            self.m.buffers.append(b)
            t.buffer = len(self.m.buffers) - 1
        else:
            t.buffer = 0
        if quant is not None:
            t.quantization = quant
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def opcode(self, code, version=1, custom=None):
        key = (code, version, custom)
        if key not in self.opcodes:
            oc = S.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = version
            if custom:
                oc.customCode = custom
            self.m.operatorCodes.append(oc)
            self.opcodes[key] = len(self.m.operatorCodes) - 1
        return self.opcodes[key]

    def op(self, code, inputs, outputs, opt_type=0, opt=None, version=1, custom=None):
        o = S.OperatorT()
        o.opcodeIndex = self.opcode(code, version, custom)
        o.inputs, o.outputs = list(inputs), list(outputs)
        if opt is not None:
            o.builtinOptionsType, o.builtinOptions = opt_type, opt
        if custom:
            o.customOptions = np.zeros(0, np.uint8)
        self.sg.operators.append(o)

    def input(self, name, shape, dtype=np.float32, shape_signature=None):
        i = self.tensor(name, shape, dtype, shape_signature=shape_signature)
        self.sg.inputs.append(i)
        self.sig_in.append((name, i))
        return i

    def output(self, idx):
        self.sg.outputs.append(idx)
        self.sig_out.append((self.sg.tensors[idx].name, idx))

    def fc(self, x, w, b, out_name, out_shape, quant=None, version=1):
        wt = self.tensor(out_name + "/w", w.shape, w.dtype.type, w, quant=quant)
        bt = self.tensor(out_name + "/b", b.shape, np.float32, b) if b is not None else -1
        y = self.tensor(out_name, out_shape)
        opt = S.FullyConnectedOptionsT()
        opt.keepNumDims = True
        self.op(S.BuiltinOperator.FULLY_CONNECTED, [x, wt, bt], [y], S.BuiltinOptions.FullyConnectedOptions, opt,
                version=version)
        return y

    def binary(self, code, opt_cls, opt_type, a, b, name, shape, dtype=np.float32):
        y = self.tensor(name, shape, dtype)
        self.op(code, [a, b], [y], opt_type, opt_cls())
        return y

    def finish(self, path):
        sd = S.SignatureDefT()
        sd.signatureKey = "serving_default"
        sd.subgraphIndex = 0
        sd.inputs, sd.outputs = [], []
        for name, i in self.sig_in:
            tm = S.TensorMapT(); tm.name, tm.tensorIndex = name, i; sd.inputs.append(tm)
        for name, i in self.sig_out:
            tm = S.TensorMapT(); tm.name, tm.tensorIndex = name, i; sd.outputs.append(tm)
        self.m.signatureDefs = [sd]
        import flatbuffers
        fb = flatbuffers.Builder(1024)
        fb.Finish(self.m.Pack(fb), file_identifier=b"TFL3")
        data = bytes(fb.Output())
        with open(path, "wb") as f:
            f.write(data)
        return path


def add_fc(path, rng):
    """z = FC(x; W[3,4], b) + y ; x2 = x * x."""
    b = Builder()
    x = b.input("x", [1, 4])
    y = b.input("y", [1, 3])
    w = rng.standard_normal((3, 4)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    h = b.fc(x, w, bias, "fc", [1, 3])
    z = b.binary(S.BuiltinOperator.ADD, S.AddOptionsT, S.BuiltinOptions.AddOptions, h, y, "z", [1, 3])
    x2 = b.binary(S.BuiltinOperator.MUL, S.MulOptionsT, S.BuiltinOptions.MulOptions, x, x, "x2", [1, 4])
    b.output(z)
    b.output(x2)
    return b.finish(path)


def int64_add(path, rng):
    b = Builder()
    ids = b.input("ids", [1, 8], np.int64)
    c = b.tensor("c", [1, 8], np.int64, np.arange(8, dtype=np.int64) * 1000000007)
    out = b.binary(S.BuiltinOperator.ADD, S.AddOptionsT, S.BuiltinOptions.AddOptions, ids, c, "out", [1, 8], np.int64)
    b.output(out)
    return b.finish(path)


def dynamic_mul(path, rng):
    b = Builder()
    x = b.input("x", [1, 4], shape_signature=[-1, 4])
    y = b.tensor("y", [1, 4], shape_signature=[-1, 4])
    b.op(S.BuiltinOperator.MUL, [x, x], [y], S.BuiltinOptions.MulOptions, S.MulOptionsT())
    b.output(y)
    return b.finish(path)


def fc_probe(path, rng, k=512, n=64):
    """One FC with values that make fp16 arithmetic visibly different from fp32."""
    b = Builder()
    x = b.input("x", [1, k])
    w = (1 + rng.standard_normal((n, k)) * 1e-3).astype(np.float32)
    y = b.fc(x, w, np.zeros(n, np.float32), "y", [1, n])
    b.output(y)
    return b.finish(path)


def custom_op(path, rng):
    b = Builder()
    x = b.input("x", [1, 4])
    y = b.tensor("y", [1, 4])
    b.op(S.BuiltinOperator.CUSTOM, [x], [y], custom="AudiogenNoSuchOp")
    b.output(y)
    return b.finish(path)


def matmul_chain(path, rng, n=512, steps=8):
    """Weightless but compute-heavy (steps * 2n^3 FLOP): y = ((a @ b) @ b) @ b ... scaled by 1/n each time."""
    b = Builder()
    a = b.input("a", [1, n, n])
    m = b.input("b", [1, n, n])
    scale = b.tensor("scale", [1], np.float32, np.array([1.0 / n], np.float32))
    cur = a
    for i in range(steps):
        o = S.BatchMatMulOptionsT()
        t = b.tensor(f"mm{i}", [1, n, n])
        b.op(S.BuiltinOperator.BATCH_MATMUL, [cur, m], [t], S.BuiltinOptions.BatchMatMulOptions, o)
        cur = b.binary(S.BuiltinOperator.MUL, S.MulOptionsT, S.BuiltinOptions.MulOptions, t, scale, f"s{i}", [1, n, n])
    b.sg.tensors[cur].name = "y"
    b.output(cur)
    return b.finish(path)


def quant_per_channel(w):
    scale = np.maximum(np.abs(w).max(axis=1), 1e-12) / 127.0
    q = np.clip(np.round(w / scale[:, None]), -127, 127).astype(np.int8)
    qp = S.QuantizationParametersT()
    qp.scale = scale.astype(np.float32).tolist()
    qp.zeroPoint = [0] * w.shape[0]
    qp.quantizedDimension = 0
    return q, qp


def fc_stack(path, rng, int8=False, blocks=2, tokens=257, d=1024):
    """DiT-like blocks: qkv = FC(x,1024->3072); h = FC(x,1024->8192) -> GLU -> FC(4096->1024) + x."""
    b = Builder()
    x = b.input("x", [1, tokens, d])
    outs = []

    def lin(inp, n_in, n_out, name):
        w = (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32)
        bias = np.zeros(n_out, np.float32)
        if int8:
            q, qp = quant_per_channel(w)
            return b.fc(inp, q, bias, name, [1, tokens, n_out], quant=qp, version=12)
        return b.fc(inp, w, bias, name, [1, tokens, n_out])

    for i in range(blocks):
        qkv = lin(x, d, 3 * d, f"b{i}/qkv")
        outs.append(qkv)
        h = lin(x, d, 8 * d, f"b{i}/ff1")
        axis = b.tensor(f"b{i}/axis", [], np.int32, np.array(2, np.int32))
        a1 = b.tensor(f"b{i}/a", [1, tokens, 4 * d])
        a2 = b.tensor(f"b{i}/g", [1, tokens, 4 * d])
        so = S.SplitOptionsT(); so.numSplits = 2
        b.op(S.BuiltinOperator.SPLIT, [axis, h], [a1, a2], S.BuiltinOptions.SplitOptions, so)
        sg = b.tensor(f"b{i}/sig", [1, tokens, 4 * d])
        b.op(S.BuiltinOperator.LOGISTIC, [a2], [sg])
        glu = b.binary(S.BuiltinOperator.MUL, S.MulOptionsT, S.BuiltinOptions.MulOptions, a1, sg, f"b{i}/glu",
                       [1, tokens, 4 * d])
        o = lin(glu, 4 * d, d, f"b{i}/ff2")
        x = b.binary(S.BuiltinOperator.ADD, S.AddOptionsT, S.BuiltinOptions.AddOptions, o, x, f"b{i}/res",
                     [1, tokens, d])
    b.output(x)
    for q in outs:
        b.output(q)
    flops = blocks * 2 * tokens * (d * 3 * d + d * 8 * d + 4 * d * d)
    b.finish(path)
    return flops


def conv_stack(path, rng, t=256):
    """Oobleck-decoder-like: conv1d k7 (64->1024), tconv s8 (1024->512), conv k7, tconv s8 (512->256), conv k7,
    conv k7 (256->2). Conv1d as CONV_2D over NHWC [1,1,T,C]."""
    b = Builder()
    x = b.input("latents", [1, 1, t, 64])
    flops = 0
    cur, c_in, length = x, 64, t

    def conv(inp, cin, cout, n, name):
        nonlocal flops
        w = (rng.standard_normal((cout, 1, 7, cin)) / np.sqrt(7 * cin)).astype(np.float32)
        wt = b.tensor(name + "/w", w.shape, np.float32, w)
        bt = b.tensor(name + "/b", [cout], np.float32, np.zeros(cout, np.float32))
        y = b.tensor(name, [1, 1, n, cout])
        o = S.Conv2DOptionsT(); o.padding = S.Padding.SAME; o.strideW = 1; o.strideH = 1
        o.dilationWFactor = 1; o.dilationHFactor = 1
        b.op(S.BuiltinOperator.CONV_2D, [inp, wt, bt], [y], S.BuiltinOptions.Conv2DOptions, o)
        flops += 2 * n * 7 * cin * cout
        return y

    def tconv(inp, cin, cout, n, stride, name):
        nonlocal flops
        k = 2 * stride
        w = (rng.standard_normal((cout, 1, k, cin)) / np.sqrt(k * cin)).astype(np.float32)
        wt = b.tensor(name + "/w", w.shape, np.float32, w)
        shp = b.tensor(name + "/shape", [4], np.int32, np.array([1, 1, n * stride, cout], np.int32))
        bt = b.tensor(name + "/b", [cout], np.float32, np.zeros(cout, np.float32))
        y = b.tensor(name, [1, 1, n * stride, cout])
        o = S.TransposeConvOptionsT(); o.padding = S.Padding.SAME; o.strideW = stride; o.strideH = 1
        b.op(S.BuiltinOperator.TRANSPOSE_CONV, [shp, wt, inp, bt], [y], S.BuiltinOptions.TransposeConvOptions, o,
             version=3)
        flops += 2 * n * k * cin * cout
        return y

    cur = conv(cur, 64, 1024, length, "c0")
    cur = tconv(cur, 1024, 512, length, 8, "t1"); length *= 8
    cur = conv(cur, 512, 512, length, "c1")
    cur = tconv(cur, 512, 256, length, 8, "t2"); length *= 8
    cur = conv(cur, 256, 256, length, "c2")
    cur = conv(cur, 256, 2, length, "audio")
    b.output(cur)
    b.finish(path)
    return flops


def run_interpreter(path, inputs):
    """The official TFLite interpreter of the same wheel (used where CompiledModel's Python buffers lack a dtype)."""
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path)
    runner = it.get_signature_runner()
    return {k: np.asarray(v) for k, v in runner(**inputs).items()}


def run_litert(path, inputs, threads=1, flags=None):
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.options import CpuOptions, Options
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator
    opts = Options(hardware_accelerators=HardwareAccelerator.CPU,
                   cpu_options=CpuOptions(num_threads=threads, xnnpack_flags=flags))
    cm = CompiledModel.from_file(path, options=opts)
    sig = cm.get_signature_list()
    key = list(sig.keys())[0]
    ins = cm.create_input_buffers(0)
    outs = cm.create_output_buffers(0)
    for name, buf in zip(sig[key]["inputs"], ins):
        buf.write(inputs[name])
    cm.run_by_index(0, ins, outs)
    details = cm.get_output_tensor_details(key)
    res = {}
    for name, buf in zip(sig[key]["outputs"], outs):
        d = details[name]
        dt = np.dtype(d["dtype"]) if not isinstance(d["dtype"], np.dtype) else d["dtype"]
        n = int(np.prod(d["shape"]))
        res[name] = buf.read(n, dt).reshape(d["shape"])
    return res


def fixtures(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1234)
    ref = {}
    p = add_fc(os.path.join(out, "add_fc.tflite"), rng)
    ins = {"x": np.array([[1.5, -2.0, 0.25, 3.0]], np.float32), "y": np.array([[0.5, 1.0, -1.0]], np.float32)}
    ref["add_fc"] = {"inputs": ins, "outputs": run_litert(p, ins)}
    p = int64_add(os.path.join(out, "int64_add.tflite"), rng)
    ins = {"ids": (np.arange(8, dtype=np.int64) + 2**40).reshape(1, 8)}
    ref["int64_add"] = {"inputs": ins, "outputs": run_interpreter(p, ins)}
    dynamic_mul(os.path.join(out, "dynamic_mul.tflite"), rng)
    p = fc_probe(os.path.join(out, "fc_probe.tflite"), rng)
    ins = {"x": (1 + rng.standard_normal((1, 512)) * 1e-3).astype(np.float32)}
    ref["fc_probe"] = {"inputs": ins, "outputs": run_litert(p, ins),
                       "outputs_fp16": run_litert(p, ins, flags=0x4)}
    custom_op(os.path.join(out, "custom_op.tflite"), rng)
    p = matmul_chain(os.path.join(out, "matmul_chain.tflite"), rng)
    i, j = np.meshgrid(np.arange(512), np.arange(512), indexing="ij")
    ins = {"a": np.sin(i * 0.37 + j * 0.11).astype(np.float32)[None],
           "b": np.cos(i * 0.13 - j * 0.29).astype(np.float32)[None]}  # reproducible in JS
    out_mm = run_litert(p, ins)["y"]
    ref["matmul_chain"] = {"inputs": {}, "outputs": {"y_row0_head": out_mm[0, 0, :16], "y_sum": np.array([out_mm.sum()], np.float64)}}
    np.save(os.path.join(out, "matmul_a.npy"), ins["a"][:, :2, :])  # a small npy produced by numpy itself

    def enc(a):
        a = np.asarray(a)
        return {"dtype": str(a.dtype), "shape": list(a.shape),
                "data": [str(v) for v in a.reshape(-1).tolist()] if a.dtype == np.int64 else a.reshape(-1).tolist()}

    js = {k: {kk: {n: enc(a) for n, a in vv.items()} for kk, vv in v.items()} for k, v in ref.items()}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(js, f, indent=1)


def bench(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    info = {}
    info["fc_stack_f32"] = fc_stack(os.path.join(out, "fc_stack_f32.tflite"), rng)
    info["fc_stack_int8"] = fc_stack(os.path.join(out, "fc_stack_int8.tflite"), rng, int8=True)
    info["conv_stack_f32"] = conv_stack(os.path.join(out, "conv_stack_f32.tflite"), rng)
    with open(os.path.join(out, "flops.json"), "w") as f:
        json.dump(info, f, indent=1)


if __name__ == "__main__":
    {"fixtures": fixtures, "bench": bench}[sys.argv[1]](sys.argv[2])

"""Dev-time conformance of @audiogen/quantize with Google's AI Edge Quantizer.

For every case in cases.json ({model, recipe_name, recipe, ours, aeq}) this
  1. quantizes the float model with AEQ (same recipe JSON) → `aeq`,
  2. compares every tensor of AEQ's output with ours by name: type, shape, constant bytes,
     scale (float32 bits), zero_point, quantized_dimension, blockwise details and scale tensors,
     and the operator sequence (op codes and the tensor names they read/write),
  3. runs the float model and both quantized models in LiteRT (ai_edge_litert Interpreter,
     XNNPACK and reference kernels) on the same random inputs and compares the outputs.
Writes results.json next to cases.json. Run with the AEQ venv (see scripts/setup-aeq.sh).
"""
import json
import os
import sys
import time

import numpy as np
from ai_edge_litert import interpreter as litert
from ai_edge_quantizer import quantizer
from ai_edge_quantizer.utils import tfl_flatbuffer_utils as fbu

TYPE_NAMES = {v: k for k, v in fbu.TENSOR_TYPE_TO_CODE.items() if isinstance(v, int)}


def tensor_map(model):
  sg = model.subgraphs[0]
  out = {}
  for i, t in enumerate(sg.tensors):
    out[t.name.decode()] = (i, t)
  return out


def buf(model, t):
  d = model.buffers[t.buffer].data
  return None if d is None else bytes(np.asarray(d, dtype=np.uint8).tobytes())


def describe_quant(model, sg, t):
  q = t.quantization
  if q is None:
    return None
  res = {}
  if q.scale is not None and len(q.scale):
    res['scale_hex'] = np.asarray(q.scale, dtype='<f4').tobytes().hex()
  if q.zeroPoint is not None and len(q.zeroPoint):
    res['zero_point'] = [int(v) for v in q.zeroPoint]
  if q.details is not None:
    d = q.details
    st = sg.tensors[d.scales]
    res['details'] = {
        'block_size': int(d.blockSize),
        'zero_points': int(d.zeroPoints),
        'scales_name': st.name.decode(),
        'scales_type': TYPE_NAMES.get(st.type, st.type),
        'scales_shape': [int(x) for x in st.shape],
        'scales_hex': (buf(model, st) or b'').hex(),
    }
  if res or q.details is not None:
    res['quantized_dimension'] = int(q.quantizedDimension or 0)
  return res or None


def compare_models(aeq_path, ours_path):
  a = fbu.read_model(aeq_path)
  o = fbu.read_model(ours_path)
  diffs = []
  ta, to = tensor_map(a), tensor_map(o)
  sga, sgo = a.subgraphs[0], o.subgraphs[0]
  compared = 0
  quantized = 0
  for name, (_, t) in ta.items():
    if name not in to:
      diffs.append(f'tensor {name} missing in ours')
      continue
    _, u = to[name]
    compared += 1
    if t.type != u.type:
      diffs.append(f'{name}: type {TYPE_NAMES.get(t.type)} vs ours {TYPE_NAMES.get(u.type)}')
    if list(t.shape) != list(u.shape):
      diffs.append(f'{name}: shape {list(t.shape)} vs ours {list(u.shape)}')
    ba, bo = buf(a, t), buf(o, u)
    if (ba or b'') != (bo or b''):
      n = min(len(ba or b''), len(bo or b''))
      first = next((i for i in range(n) if ba[i] != bo[i]), n)
      diffs.append(f'{name}: constant bytes differ (len {len(ba or b"")} vs {len(bo or b"")}, first diff at {first})')
    qa, qo = describe_quant(a, sga, t), describe_quant(o, sgo, u)
    if qa is not None:
      quantized += 1
    if qa != qo:
      diffs.append(f'{name}: quantization {json.dumps(qa)[:300]} vs ours {json.dumps(qo)[:300]}')
  extra = [n for n in to if n not in ta]
  if extra:
    diffs.append(f'tensors only in ours: {extra}')

  def ops(model, sg):
    codes = model.operatorCodes
    names = lambda idx: [sg.tensors[i].name.decode() if i >= 0 else '-' for i in idx]
    return [
        (max(codes[op.opcodeIndex].builtinCode, codes[op.opcodeIndex].deprecatedBuiltinCode),
         names(op.inputs), names(op.outputs))
        for op in sg.operators
    ]
  if ops(a, sga) != ops(o, sgo):
    diffs.append(f'operator sequence differs: aeq {ops(a, sga)} vs ours {ops(o, sgo)}')
  return {'tensors_compared': compared, 'quantized_tensors': quantized, 'diffs': diffs}


def run(path, feeds, reference=False):
  kw = {}
  if reference:
    kw['experimental_op_resolver_type'] = litert.OpResolverType.BUILTIN_REF
  it = litert.Interpreter(model_path=path, num_threads=1, **kw)
  it.allocate_tensors()
  for d in it.get_input_details():
    it.set_tensor(d['index'], feeds[d['name']])
  it.invoke()
  return [it.get_tensor(d['index']).copy() for d in it.get_output_details()]


def make_feeds(path, seed):
  it = litert.Interpreter(model_path=path)
  rng = np.random.default_rng(seed)
  feeds = {}
  for d in it.get_input_details():
    shape, dt = d['shape'], d['dtype']
    if np.issubdtype(dt, np.integer):
      feeds[d['name']] = rng.integers(0, 32, size=shape).astype(dt)
    else:
      feeds[d['name']] = rng.standard_normal(shape).astype(dt)
  return feeds


def cos(a, b):
  if a.dtype.kind != 'f':
    return 1.0 if np.array_equal(a, b) else 0.0
  a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
  na, nb = np.linalg.norm(a), np.linalg.norm(b)
  return 1.0 if na == 0 and nb == 0 else float(a @ b / (na * nb)) if na and nb else 0.0


def _clean(x):
  if isinstance(x, float) and x != x:
    return None
  if isinstance(x, dict):
    return {k: _clean(v) for k, v in x.items()}
  if isinstance(x, list):
    return [_clean(v) for v in x]
  return x


def main():
  cases_path = sys.argv[1]
  base = os.path.dirname(os.path.abspath(cases_path))
  cases = json.load(open(cases_path))
  results = []
  for c in cases:
    model = os.path.join(base, c['model'])
    ours = os.path.join(base, c['ours'])
    aeq = os.path.join(base, c['aeq'])
    recipe = json.load(open(os.path.join(base, c['recipe'])))
    t0 = time.time()
    try:
      qt = quantizer.Quantizer(model, recipe)
      res = qt.quantize(enable_progress_bar=False, enable_progress_report=False)
    except Exception as e:  # noqa: BLE001 - AEQ refuses (e.g. blockwise on a dim not divisible)
      msg = f'{type(e).__name__}: {str(e)[:300]}'
      print(f"AEQ-ERROR {c['model']:<28} {c['recipe_name']:<24} {msg}")
      results.append({'model': c['model'], 'recipe': c['recipe_name'], 'aeq_error': msg, 'diffs': []})
      continue
    with open(aeq, 'wb') as fh:
      fh.write(bytes(res.quantized_model))
    aeq_seconds = time.time() - t0
    entry = {'model': c['model'], 'recipe': c['recipe_name'], 'aeq_seconds': round(aeq_seconds, 3),
             'aeq_bytes': os.path.getsize(aeq), 'ours_bytes': os.path.getsize(ours),
             'float_bytes': os.path.getsize(model)}
    entry.update(compare_models(aeq, ours))
    if c.get('run', True):
      feeds = make_feeds(model, 7)
      outs = {}
      try:
        for ref in (False, True):
          key = 'ref' if ref else 'xnnpack'
          f = run(model, feeds, ref)
          qa = run(aeq, feeds, ref)
          qa2 = run(aeq, feeds, ref)
          qo = run(ours, feeds, ref)
          outs[key] = {
              # LiteRT itself gives different results for AEQ's model run twice (reads memory it
              # should not, e.g. per-tensor hybrid DEPTHWISE_CONV_2D): not comparable.
              'runtime_deterministic': all(np.array_equal(x, y, equal_nan=True) for x, y in zip(qa, qa2)),
              'identical': all(np.array_equal(x, y, equal_nan=True) for x, y in zip(qa, qo)),
              'max_abs_diff_aeq_vs_ours': float(max(np.nanmax(np.abs(x - y)) if x.size else 0.0 for x, y in zip(qa, qo))),
              'float_has_nan': bool(any(np.isnan(x).any() for x in f if x.dtype.kind == 'f')),
              'cosine_vs_float': [cos(x, y) for x, y in zip(qo, f)],
          }
      except Exception as e:  # noqa: BLE001 - reported, not hidden
        outs['error'] = f'{type(e).__name__}: {e}'
      entry['run'] = outs
    results.append(entry)
    status = 'OK ' if not entry['diffs'] else 'DIFF'
    print(f"{status} {c['model']:<28} {c['recipe_name']:<24} tensors={entry['tensors_compared']:<4} "
          f"quantized={entry['quantized_tensors']:<3} run={json.dumps(entry.get('run', {}))[:160]}")
    for d in entry['diffs'][:5]:
      print('     ', d)
  with open(os.path.join(base, 'results.json'), 'w') as fh:
    fh.write(json.dumps(_clean(results), indent=1))


if __name__ == '__main__':
  main()

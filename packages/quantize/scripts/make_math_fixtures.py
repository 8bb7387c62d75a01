"""Dev-time: computes reference quantization results with AI Edge Quantizer's own tensor functions.

Run with the AEQ venv:  .venv-aeq/bin/python packages/quantize/scripts/make_math_fixtures.py
Writes packages/quantize/fixtures/aeq-math.json (small; committed) used by src/math.test.ts.
"""
import json
import os

import numpy as np
from ai_edge_quantizer import qtyping
from ai_edge_quantizer.algorithms.uniform_quantize import uniform_quantize_tensor as uqt

G = qtyping.QuantGranularity
HERE = os.path.dirname(os.path.abspath(__file__))


def case(name, data, num_bits, symmetric, granularity, qdim):
  """qdim: channel dim (CHANNELWISE) or block dim (BLOCKWISE)."""
  if granularity == G.TENSORWISE:
    mn = np.min(data, keepdims=True)
    mx = np.max(data, keepdims=True)
    bs = 0
  elif granularity == G.CHANNELWISE:
    dims = tuple(d for d in range(data.ndim) if d != qdim)
    mn = np.min(data, axis=dims, keepdims=True)
    mx = np.max(data, axis=dims, keepdims=True)
    bs = 0
  else:
    bs = uqt.extract_block_size_from_granularity(granularity)
    shape = list(data.shape)
    new_shape = shape[:qdim] + [shape[qdim] // bs, bs] + shape[qdim + 1:]
    r = data.reshape(new_shape)
    mn = np.min(r, axis=qdim + 1)
    mx = np.max(r, axis=qdim + 1)
  zp, scale = uqt.tensor_zp_scale_from_min_max(mn, mx, num_bits, symmetric, granularity)
  params = qtyping.UniformQuantParams(
      num_bits=num_bits, quantized_dimension=qdim if granularity != G.TENSORWISE else None,
      scale=scale, zero_point=zp, symmetric=symmetric, block_size=bs)
  q = uqt.uniform_quantize(data, params, uqt.is_blockwise(granularity))
  return {
      'name': name, 'shape': list(data.shape), 'num_bits': num_bits, 'symmetric': symmetric,
      'granularity': str(granularity.value), 'dim': qdim,
      'data_f32_hex': data.astype('<f4').tobytes().hex(),
      'scale_f32_hex': np.ravel(scale).astype('<f4').tobytes().hex(),
      'zero_point': [int(v) for v in np.ravel(zp)],
      'q': [int(v) for v in np.ravel(q)],
  }


def main():
  rng = np.random.default_rng(1234)
  cases = []
  w = (rng.standard_normal((24, 64)) * 0.05).astype(np.float32)
  w[3, 5] = 0.0
  w[7] = 0.0  # an all-zero channel
  w[2, :8] = np.float32(0.25)  # ties around .5 after scaling appear with simple values
  cases.append(case('fc_int8_channel_sym', w, 8, True, G.CHANNELWISE, 0))
  cases.append(case('fc_int8_tensor_sym', w, 8, True, G.TENSORWISE, None))
  cases.append(case('fc_int8_channel_asym', w, 8, False, G.CHANNELWISE, 0))
  cases.append(case('fc_int4_channel_sym', w, 4, True, G.CHANNELWISE, 0))
  cases.append(case('fc_int4_block32_sym', w, 4, True, G.BLOCKWISE_32, 1))
  cases.append(case('fc_int8_block64_sym', w, 8, True, G.BLOCKWISE_64, 1))
  cases.append(case('fc_int2_channel_sym', w, 2, True, G.CHANNELWISE, 0))
  conv = (rng.standard_normal((8, 3, 3, 5)) * 0.2 + 0.05).astype(np.float32)
  cases.append(case('conv_int8_channel_sym', conv, 8, True, G.CHANNELWISE, 0))
  dw = (rng.uniform(-1, 3, (1, 3, 3, 6))).astype(np.float32)
  cases.append(case('dw_int8_channel_sym_dim3', dw, 8, True, G.CHANNELWISE, 3))
  cases.append(case('dw_int8_tensor_asym', dw, 8, False, G.TENSORWISE, None))
  big = (rng.standard_normal((4, 256)) * 300).astype(np.float32)
  cases.append(case('big_int4_block32', big, 4, True, G.BLOCKWISE_32, 1))
  # fp16 casting
  f16 = np.concatenate([w.ravel()[:256], np.array([65504, 70000, 1e-8, -2.5e-5, 0.1], np.float32)])
  out = {
      'aeq_version': __import__('importlib.metadata').metadata.version('ai-edge-quantizer'),
      'cases': cases,
      'fp16': {'data_f32_hex': f16.astype('<f4').tobytes().hex(),
               'f16_hex': f16.astype(np.float16).astype('<f2').tobytes().hex()},
  }
  path = os.path.join(HERE, '..', 'fixtures', 'aeq-math.json')
  with open(path, 'w') as fh:
    json.dump(out, fh)
  print('wrote', os.path.normpath(path), os.path.getsize(path), 'bytes')


if __name__ == '__main__':
  main()

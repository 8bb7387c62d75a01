"""Dev-time: reference values of AEQ's validation metrics for src/metrics.test.ts.

.venv-aeq/bin/python packages/quantize/scripts/make_metrics_fixture.py
"""
import json
import os

import numpy as np
from ai_edge_quantizer.utils import validation_utils as vu

rng = np.random.default_rng(5)
cases = []
for name, r, t in [
    ('noisy', rng.standard_normal(257).astype(np.float32), None),
    ('scaled', rng.standard_normal(64).astype(np.float32), None),
    ('special', np.array([0, 1, -2, np.nan, np.inf, -np.inf, 3, 0.5], np.float32),
     np.array([0, 1.1, -2, 1, np.inf, 0, np.nan, 0.25], np.float32)),
    ('zeros', np.zeros(5, np.float32), np.zeros(5, np.float32)),
]:
  if t is None:
    t = (r + rng.standard_normal(r.shape).astype(np.float32) * 0.05) if name == 'noisy' else (r * 0.9).astype(np.float32)
  vals = {m.value: float(vu.get_validation_func(m)(t, r)) for m in vu.ValidationErrorMetric}
  cases.append({'name': name, 'target': [float(x) if np.isfinite(x) else str(x) for x in t],
                'reference': [float(x) if np.isfinite(x) else str(x) for x in r], 'metrics': vals})
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'aeq-metrics.json')
json.dump(cases, open(path, 'w'))
print('wrote', path)

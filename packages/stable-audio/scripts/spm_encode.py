#!/usr/bin/env python3
"""Reference ids from Python sentencepiece: stdin JSON {"model": path, "texts": [...]} -> stdout JSON [[ids]...]."""
import json
import sys

import sentencepiece as spm

req = json.load(sys.stdin)
sp = spm.SentencePieceProcessor(model_file=req['model'])
out = {'ids': sp.encode(req['texts']), 'normalized': [sp.normalize(t) for t in req.get('normalize', [])]}
json.dump(out, sys.stdout)

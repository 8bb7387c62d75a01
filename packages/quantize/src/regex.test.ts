import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseRecipe } from './recipe';
import { compileRecipeRegex } from './regex';

const PYTHON = fileURLToPath(new URL('../../../.venv/bin/python', import.meta.url));

// Patterns of the kinds real recipes use (AEQ recipes, litert-torch's quant recipes, our presets) and
// the syntax around them; names as AEQ builds scopes (output tensor names, ';'-joined).
const PATTERNS = [
  '.*',
  '',
  'dense',
  'Embedding_tok_embedding',
  'transformer_blocks\\[0\\]/ai_edge_torch.generative.layers.attention',
  'transformer_blocks\\[\\d+\\]/.*feed_forward',
  '(conditioner|dit)/.*',
  '^model/dense',
  '^dense',
  'MatMul;$',
  'MatMul$',
  '(?i)DENSE',
  '(?s)a.b',
  '(?m)^b$',
  '[a-z_]+/\\d+',
  '[^/]+;$',
  '\\bfc\\b',
  '\\Bfc',
  'a{2,3}',
  'a{2}b',
  'a{,2}c',
  'a{2,}',
  'x{',
  'x?y*z+',
  '(?:ab)+c',
  '(?P<blk>block)_\\d',
  '\\Aconv',
  'conv\\Z',
  '[\\w.]+:0',
  '[-a]x',
  '[a-]x',
  '[]a]',
  '\\.',
  'a|b|',
  '(a|ab)(c|bcd)(d*)',
  '(a+)+$',
  '.*?attn.*?',
  'dit/blocks\\.(1[0-5]|[0-9])\\.',
];
const NAMES = [
  'model/dense/MatMul;',
  'model/dense_1/MatMul;model/dense_1/BiasAdd',
  'DENSE',
  'transformer_blocks[0]/ai_edge_torch.generative.layers.attention/fc',
  'transformer_blocks[12]/x/feed_forward/w1',
  'conditioner/t5/embedding',
  'dit/blocks.3.attn.to_qkv',
  'dit/blocks.15.ff',
  'dit/blocks.16.ff',
  'a\nb',
  'a\nb\n',
  'aab',
  'aaaac',
  'xyzz',
  'ababc',
  'block_7',
  'conv',
  'my conv',
  'x/fc y',
  'xfc',
  'tensor.name:0',
  '-x',
  ']',
  '',
  'abcd',
  'x{',
  'ünïcode_dense',
  'aaaaaaaaaaaaaaaaaaaab',
];

describe('recipe regexes: linear-time, with Python re.search semantics', () => {
  it.skipIf(!existsSync(PYTHON))(
    `agree with Python re.search on ${PATTERNS.length} patterns × ${NAMES.length} names`,
    () => {
      const py = `import json, re, sys
p, n = json.load(sys.stdin)
print(json.dumps([[bool(re.search(a, b)) for b in n] for a in p]))`;
      const want = JSON.parse(
        execFileSync(PYTHON, ['-c', py], { input: JSON.stringify([PATTERNS, NAMES]) }).toString(),
      ) as boolean[][];
      const diffs: string[] = [];
      PATTERNS.forEach((p, i) => {
        const re = compileRecipeRegex(p);
        NAMES.forEach((n, j) => {
          if (re.test(n) !== want[i]![j])
            diffs.push(`${JSON.stringify(p)} on ${JSON.stringify(n)}: python ${want[i]![j]}`);
        });
      });
      expect(diffs).toEqual([]);
    },
  );

  it('catastrophic patterns run in linear time (JavaScript RegExp took > 60 s)', () => {
    const name = `${'a'.repeat(50_000)}!`;
    for (const p of ['(a+)+$', '(a|aa)*c', '(a*)*b', '(.*a){20}x', '^(\\w+\\s?)*$']) {
      const t0 = performance.now();
      expect(compileRecipeRegex(p).test(name)).toBe(false);
      expect(performance.now() - t0, p).toBeLessThan(2000);
    }
  });

  it('refuses what cannot be matched in linear time, or is too large: INVALID_RECIPE', () => {
    for (const p of [
      '(a)\\1',
      '(?=a)b',
      '(?!a)b',
      '(?<=a)b',
      '(?<!a)b',
      '(?P<x>a)(?P=x)',
      'a{1001}',
      'a++',
      '(a',
      'a)',
      '*a',
      '[a',
      'a\\',
    ]) {
      expect(() => compileRecipeRegex(p), p).toThrow(expect.objectContaining({ code: 'INVALID_RECIPE' }));
    }
    const huge = 'a'.repeat(1 << 20);
    expect(() => compileRecipeRegex(huge)).toThrow(
      expect.objectContaining({
        code: 'INVALID_RECIPE',
        message: expect.stringMatching(/more than the 10000 accepted/),
      }),
    );
    // A recipe with a 1 MB regex: a typed error naming the entry, not an untyped RangeError.
    const entry = { regex: huge, operation: '*', algorithm_key: 'no_quantize' };
    expect(() => parseRecipe([entry])).toThrow(
      expect.objectContaining({ code: 'INVALID_RECIPE', message: expect.stringContaining('entry 0 regex') }),
    );
    // Within the length limit but too many states once repeats are expanded.
    expect(() => compileRecipeRegex('(((a{100}){100}){100})')).toThrow(
      expect.objectContaining({ code: 'INVALID_RECIPE', message: expect.stringMatching(/states/) }),
    );
  });
});

/**
 * Recipe scope regexes, matched in linear time. Recipes are files people download, and a backtracking
 * engine (JavaScript's RegExp) takes exponential time on patterns like `(a+)+$`; so a recipe's regex
 * is compiled to an NFA and simulated state-set by state-set (Thompson's construction): time is
 * O(pattern × name) whatever the pattern. Semantics are Python `re.search`'s, as AI Edge Quantizer calls
 * it: unanchored search; `.` stops at a newline unless (?s); `$` matches at the end or before a final
 * newline; \A \Z \b \B \d \w \s (ASCII with (?a), the default for names); (?i) (?m) (?s) (?a) (?u)
 * leading flags; (?:…) (?P<name>…) (?<name>…) groups; greedy and lazy quantifiers (the same set of
 * matches). Backreferences and lookaround cannot be matched in linear time and are refused, as are
 * patterns over MAX_PATTERN_LENGTH characters or MAX_STATES states.
 */
import { AudiogenError } from '@audiogen/core';

export const MAX_PATTERN_LENGTH = 10_000;
export const MAX_STATES = 20_000;
/** Upper bound of a counted repeat {m,n} (Python allows more; recipes use single digits). */
export const MAX_REPEAT = 1000;

type Pred = (c: number) => boolean;
type Assert = 'bol' | 'eol' | 'A' | 'Z' | 'b' | 'B';
type Node =
  | { k: 'char'; p: Pred; out: number }
  | { k: 'split'; a: number; b: number }
  | { k: 'eps'; out: number }
  | { k: 'assert'; a: Assert; out: number }
  | { k: 'match' };

/** AST */
type Ast =
  | { t: 'char'; p: Pred }
  | { t: 'assert'; a: Assert }
  | { t: 'cat'; xs: Ast[] }
  | { t: 'alt'; xs: Ast[] }
  | { t: 'rep'; x: Ast; min: number; max: number }
  | { t: 'empty' };

function fail(src: string, message: string): never {
  throw new AudiogenError('INVALID_RECIPE', `regex ${JSON.stringify(src.slice(0, 80))}: ${message}`, {
    details: { regex: src.slice(0, 200) },
  });
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isWordAscii = (c: number) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isWordUnicode = (c: number) =>
  isWordAscii(c) || (c > 127 && /[\p{L}\p{N}_]/u.test(String.fromCodePoint(c)));
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
const lower = (c: number) =>
  c >= 65 && c <= 90 ? c + 32 : c > 127 ? String.fromCodePoint(c).toLowerCase().codePointAt(0)! : c;
const upper = (c: number) =>
  c >= 97 && c <= 122 ? c - 32 : c > 127 ? String.fromCodePoint(c).toUpperCase().codePointAt(0)! : c;

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  ascii: boolean;
}

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly f: Flags,
  ) {}

  parse(): Ast {
    const ast = this.alt();
    if (this.i < this.src.length) fail(this.src, `unbalanced ')' at ${this.i}`);
    return ast;
  }

  private peek(): string | undefined {
    return this.src[this.i];
  }

  private alt(): Ast {
    const xs = [this.cat()];
    while (this.peek() === '|') {
      this.i++;
      xs.push(this.cat());
    }
    return xs.length === 1 ? xs[0]! : { t: 'alt', xs };
  }

  private cat(): Ast {
    const xs: Ast[] = [];
    while (this.i < this.src.length && this.peek() !== '|' && this.peek() !== ')') xs.push(this.repeat());
    return xs.length === 0 ? { t: 'empty' } : xs.length === 1 ? xs[0]! : { t: 'cat', xs };
  }

  private repeat(): Ast {
    let x = this.atom();
    for (;;) {
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Number.POSITIVE_INFINITY];
      else if (c === '+') [min, max] = [1, Number.POSITIVE_INFINITY];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d*)(,(\d*))?\}/.exec(this.src.slice(this.i));
        if (!m || (m[1] === '' && m[2] === undefined)) return x; // a literal '{' in Python
        min = m[1] === '' ? 0 : Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
        if (min > MAX_REPEAT || (max !== Number.POSITIVE_INFINITY && max > MAX_REPEAT))
          fail(this.src, `repeat counts above ${MAX_REPEAT} are not supported`);
        if (max < min) fail(this.src, `bad repeat {${min},${max}}`);
        this.i += m[0].length - 1;
      } else return x;
      if (x.t === 'assert' || x.t === 'empty') fail(this.src, `nothing to repeat at ${this.i}`);
      this.i++;
      if (this.peek() === '?')
        this.i++; // lazy: the same set of matches, which is all a search needs
      else if (this.peek() === '+') fail(this.src, 'possessive quantifiers are not supported');
      x = { t: 'rep', x, min, max };
    }
  }

  private atom(): Ast {
    const c = this.src[this.i++]!;
    if (c === '(') {
      if (this.peek() === '?') {
        const rest = this.src.slice(this.i);
        const named = /^\?P?<[A-Za-z_]\w*>/.exec(rest);
        if (rest.startsWith('?:')) this.i += 2;
        else if (named) this.i += named[0].length;
        else if (/^\?(P=|[=!#]|<[=!])/.test(rest))
          fail(this.src, 'backreferences, lookaround and comments cannot be matched in linear time');
        else fail(this.src, `unsupported group (${rest.slice(0, 4)}`);
      }
      const x = this.alt();
      if (this.src[this.i++] !== ')') fail(this.src, 'missing )');
      return x;
    }
    if (c === ')') fail(this.src, `unbalanced ')'`);
    if (c === '*' || c === '+' || c === '?') fail(this.src, `nothing to repeat at ${this.i - 1}`);
    if (c === '[') return { t: 'char', p: this.cls() };
    if (c === '.') return { t: 'char', p: this.f.s ? () => true : (x) => x !== 10 };
    if (c === '^') return { t: 'assert', a: this.f.m ? 'bol' : 'A' };
    if (c === '$') return { t: 'assert', a: 'eol' };
    if (c === '\\') return this.escape(false) as Ast;
    return this.lit(c.codePointAt(0)!, c.length);
  }

  private lit(code: number, len = 1): Ast {
    this.i += len - 1;
    if (this.f.i) {
      const l = lower(code);
      const u = upper(code);
      return { t: 'char', p: (x) => x === l || x === u || lower(x) === l };
    }
    return { t: 'char', p: (x) => x === code };
  }

  private classPred(e: string): Pred | undefined {
    const word = this.f.ascii ? isWordAscii : isWordUnicode;
    switch (e) {
      case 'd':
        return isDigit;
      case 'D':
        return (x) => !isDigit(x);
      case 'w':
        return word;
      case 'W':
        return (x) => !word(x);
      case 's':
        return isSpace;
      case 'S':
        return (x) => !isSpace(x);
    }
    return undefined;
  }

  /** After a backslash: a class predicate, an assertion (outside classes), or a literal code point. */
  private escape(inClass: boolean): Ast | number | Pred {
    const e = this.src[this.i++];
    if (e === undefined) fail(this.src, 'trailing backslash');
    const cls = this.classPred(e);
    if (cls) return inClass ? cls : { t: 'char', p: cls };
    if (!inClass) {
      if (e === 'A') return { t: 'assert', a: 'A' };
      if (e === 'Z') return { t: 'assert', a: 'Z' };
      if (e === 'b') return { t: 'assert', a: 'b' };
      if (e === 'B') return { t: 'assert', a: 'B' };
      if (/[1-9]/.test(e)) fail(this.src, 'backreferences cannot be matched in linear time');
    }
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11, a: 7, '0': 0 };
    if (inClass && e === 'b') return 8;
    let code: number;
    if (e in simple) code = simple[e]!;
    else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = this.src.slice(this.i, this.i + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) fail(this.src, `bad \\${e} escape`);
      this.i += n;
      code = Number.parseInt(hex, 16);
    } else if (/[A-Za-z0-9]/.test(e)) fail(this.src, `unknown escape \\${e}`);
    else code = e.codePointAt(0)!;
    if (inClass) return code;
    return this.lit(code);
  }

  private cls(): Pred {
    let negate = false;
    if (this.peek() === '^') {
      negate = true;
      this.i++;
    }
    const parts: Pred[] = [];
    let first = true;
    for (;;) {
      if (this.i >= this.src.length) fail(this.src, 'unterminated character set');
      const c = this.src[this.i]!;
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      let lo: number | Pred;
      this.i++;
      if (c === '\\') lo = this.escape(true) as number | Pred;
      else lo = c.codePointAt(0)!;
      if (
        typeof lo === 'number' &&
        this.peek() === '-' &&
        this.src[this.i + 1] !== ']' &&
        this.i + 1 < this.src.length
      ) {
        this.i++;
        const d = this.src[this.i++]!;
        const hi = d === '\\' ? this.escape(true) : d.codePointAt(0)!;
        if (typeof hi !== 'number' || hi < lo) fail(this.src, 'bad character range');
        const a = lo;
        parts.push(
          this.f.i
            ? (x) =>
                (x >= a && x <= hi) || (lower(x) >= a && lower(x) <= hi) || (upper(x) >= a && upper(x) <= hi)
            : (x) => x >= a && x <= hi,
        );
      } else if (typeof lo === 'number') {
        const v = lo;
        parts.push(this.f.i ? (x) => x === v || lower(x) === lower(v) : (x) => x === v);
      } else parts.push(lo);
    }
    return negate ? (x) => !parts.some((p) => p(x)) : (x) => parts.some((p) => p(x));
  }
}

/** Compiles the AST to NFA nodes; returns the start node. */
class Compiler {
  readonly nodes: Node[] = [];
  constructor(private readonly src: string) {}

  private add(n: Node): number {
    if (this.nodes.length >= MAX_STATES) fail(this.src, `more than ${MAX_STATES} states (too large)`);
    this.nodes.push(n);
    return this.nodes.length - 1;
  }

  /** Compiles x so that it continues at `next`; returns its entry. */
  emit(x: Ast, next: number): number {
    switch (x.t) {
      case 'empty':
        return next;
      case 'char':
        return this.add({ k: 'char', p: x.p, out: next });
      case 'assert':
        return this.add({ k: 'assert', a: x.a, out: next });
      case 'cat': {
        let at = next;
        for (let i = x.xs.length - 1; i >= 0; i--) at = this.emit(x.xs[i]!, at);
        return at;
      }
      case 'alt': {
        let at = this.emit(x.xs[x.xs.length - 1]!, next);
        for (let i = x.xs.length - 2; i >= 0; i--)
          at = this.add({ k: 'split', a: this.emit(x.xs[i]!, next), b: at });
        return at;
      }
      case 'rep': {
        let at = next;
        if (x.max === Number.POSITIVE_INFINITY) {
          // x* : a loop node split(x → loop, next)
          const loop = this.add({ k: 'split', a: -1, b: next });
          (this.nodes[loop] as { a: number }).a = this.emit(x.x, loop);
          at = loop;
        } else {
          for (let i = x.min; i < x.max; i++) at = this.add({ k: 'split', a: this.emit(x.x, at), b: next });
        }
        for (let i = 0; i < x.min; i++) at = this.emit(x.x, at);
        return at;
      }
    }
  }
}

export interface LinearRegex {
  readonly source: string;
  /** Python re.search semantics: true if the pattern matches anywhere in `text`. */
  test(text: string): boolean;
}

/** Compiles a recipe regex (Python syntax) for linear-time search; INVALID_RECIPE if it cannot be. */
export function compileRecipeRegex(src: string): LinearRegex {
  if (typeof src !== 'string') fail(String(src), 'must be a string');
  if (src.length > MAX_PATTERN_LENGTH)
    fail(src, `is ${src.length} characters, more than the ${MAX_PATTERN_LENGTH} accepted`);
  const flags: Flags = { i: false, m: false, s: false, ascii: false };
  let body = src;
  const m = /^\(\?([aiLmsux]+)\)/.exec(body);
  if (m) {
    for (const f of m[1]!) {
      if (f === 'i') flags.i = true;
      else if (f === 'm') flags.m = true;
      else if (f === 's') flags.s = true;
      else if (f === 'a') flags.ascii = true;
      else if (f !== 'u') fail(src, `inline flag (?${f}) is not supported`);
    }
    body = body.slice(m[0].length);
  }
  const ast = new Parser(body, flags).parse();
  const c = new Compiler(src);
  const match = c.nodes.length;
  c.nodes.push({ k: 'match' });
  const start = c.emit(ast, match);
  const nodes = c.nodes;
  const word = flags.ascii ? isWordAscii : isWordUnicode;

  return {
    source: src,
    test(text: string): boolean {
      const cps = Array.from(text, (ch) => ch.codePointAt(0)!);
      const n = cps.length;
      const holds = (a: Assert, i: number): boolean => {
        const before = i > 0 ? cps[i - 1]! : -1;
        const after = i < n ? cps[i]! : -1;
        switch (a) {
          case 'A':
            return i === 0;
          case 'Z':
            return i === n;
          case 'bol':
            return i === 0 || before === 10;
          case 'eol':
            return i === n || (flags.m ? after === 10 : i === n - 1 && after === 10);
          case 'b':
          case 'B': {
            const edge = (before >= 0 && word(before)) !== (after >= 0 && word(after));
            return a === 'b' ? edge : !edge;
          }
        }
      };
      let seen = new Int32Array(nodes.length).fill(-1);
      let cur: number[] = [];
      let next: number[] = [];
      // Adds s and its epsilon closure at position i; true once the match node is reached.
      const addState = (list: number[], s0: number, i: number, mark: Int32Array): boolean => {
        const stack = [s0];
        while (stack.length) {
          const s = stack.pop()!;
          if (mark[s] === i) continue;
          mark[s] = i;
          const node = nodes[s]!;
          switch (node.k) {
            case 'match':
              return true;
            case 'char':
              list.push(s);
              break;
            case 'eps':
              stack.push(node.out);
              break;
            case 'split':
              stack.push(node.b, node.a);
              break;
            case 'assert':
              if (holds(node.a, i)) stack.push(node.out);
              break;
          }
        }
        return false;
      };
      let nextSeen = new Int32Array(nodes.length).fill(-1);
      for (let i = 0; ; i++) {
        // Unanchored search: a new thread starts at every position.
        if (addState(cur, start, i, seen)) return true;
        if (i >= n || cur.length === 0) {
          if (i >= n) return false;
          continue;
        }
        const c = cps[i]!;
        next.length = 0;
        for (const s of cur) {
          const node = nodes[s] as { k: 'char'; p: Pred; out: number };
          if (node.p(c) && addState(next, node.out, i + 1, nextSeen)) return true;
        }
        [cur, next] = [next, cur];
        [seen, nextSeen] = [nextSeen, seen];
      }
    },
  };
}

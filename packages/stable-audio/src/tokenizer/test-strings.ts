/** Deterministic varied strings for tokenizer conformance tests (not exported from the package). */

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x20, 0x7e], // ASCII
  [0x00, 0x1f], // C0 controls
  [0x7f, 0x9f], // DEL + C1 controls
  [0xa0, 0xff], // Latin-1 supplement (nbsp, ª, ², ½ …)
  [0x100, 0x24f], // Latin extended
  [0x2b0, 0x2ff], // modifier letters
  [0x300, 0x36f], // combining diacritics
  [0x370, 0x3ff], // Greek
  [0x400, 0x4ff], // Cyrillic
  [0x590, 0x5ff], // Hebrew
  [0x600, 0x6ff], // Arabic
  [0x900, 0x97f], // Devanagari
  [0xe00, 0xe7f], // Thai
  [0x1100, 0x11ff], // Hangul jamo
  [0x1d00, 0x1dbf], // phonetic extensions
  [0x1e00, 0x1eff], // Latin extended additional
  [0x2000, 0x206f], // general punctuation (spaces, zero-width, dashes)
  [0x2070, 0x209f], // super/subscripts
  [0x20a0, 0x20cf], // currency
  [0x2100, 0x218f], // letterlike, roman numerals
  [0x2460, 0x24ff], // enclosed alphanumerics
  [0x2e80, 0x2fdf], // CJK radicals, Kangxi
  [0x3000, 0x303f], // CJK punctuation (ideographic space)
  [0x3040, 0x30ff], // Hiragana, Katakana
  [0x3130, 0x318f], // Hangul compatibility jamo
  [0x3200, 0x33ff], // enclosed CJK, CJK compatibility (㎏ ㍻)
  [0x4e00, 0x9fff], // CJK ideographs
  [0xac00, 0xd7a3], // Hangul syllables
  [0xe000, 0xe0ff], // private use
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfb00, 0xfb4f], // ligatures (ﬁ), Hebrew presentation
  [0xfe00, 0xfe0f], // variation selectors
  [0xfe30, 0xfe6f], // CJK compatibility forms, small forms
  [0xff00, 0xffef], // halfwidth and fullwidth forms
  [0xfff0, 0xffff], // specials (U+FFFD, noncharacters)
  [0x1d400, 0x1d7ff], // mathematical alphanumerics
  [0x1f300, 0x1f6ff], // emoji
  [0x1f900, 0x1f9ff], // supplemental emoji
  [0x1f1e6, 0x1f1ff], // regional indicators (flags)
  [0x1f3fb, 0x1f3ff], // skin tones
  [0x20000, 0x2a6df], // CJK extension B
  [0xe0000, 0xe007f], // tags
];

const WORDS = (
  'birds singing in the morning warm ambient techno track with piano and drums 120 BPM rain on a tin roof ' +
  'dark cinematic strings lofi hip-hop beat guitar solo crowd cheering Klavier musique électronique 雨の音 ' +
  'ピアノ 鸟儿 피아노 музыка ﬁdelity ＢＰＭ ①②③ café naïve Straße 🎹 🎸 👩‍🎤 🇯🇵 e\u0301 A\u030a'
).split(' ');

const SPACES = [
  ' ',
  '  ',
  '   ',
  '\t',
  '\n',
  '\r\n',
  '\u00a0',
  '\u3000',
  '\u2003',
  '\u200b',
  ' \t ',
  '\u200d',
];
const PUNCT = '.,;:!?-–—\'"()[]{}<>/\\|@#$%^&*_+=~`…“”‘’«»·•';

function codePoint(rnd: () => number): string {
  const [lo, hi] = RANGES[Math.floor(rnd() * RANGES.length)]!;
  const cp = lo + Math.floor(rnd() * (hi - lo + 1));
  return String.fromCodePoint(cp);
}

/** n strings, reproducible for a given seed. */
export function varietyStrings(n: number, seed = 42): string[] {
  const rnd = mulberry32(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const out: string[] = ['', ' ', '   ', '\t\n', 'a', '▁', '▁▁x', '</s>', '<unk>', '<pad>', '<extra_id_0>'];
  while (out.length < n) {
    const kind = rnd();
    let s = '';
    if (kind < 0.3) {
      const k = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < k; i++) s += pick(WORDS) + (rnd() < 0.8 ? ' ' : pick(SPACES));
    } else if (kind < 0.55) {
      const k = 1 + Math.floor(rnd() * 30);
      for (let i = 0; i < k; i++) {
        const r = rnd();
        if (r < 0.5) s += codePoint(rnd);
        else if (r < 0.7) s += pick(SPACES);
        else if (r < 0.85) s += PUNCT[Math.floor(rnd() * PUNCT.length)];
        else s += pick(WORDS);
      }
    } else if (kind < 0.7) {
      // Mixed-case ASCII with punctuation and digit runs.
      const k = 1 + Math.floor(rnd() * 60);
      for (let i = 0; i < k; i++) s += String.fromCharCode(0x20 + Math.floor(rnd() * 95));
    } else if (kind < 0.8) {
      // Combining-mark stacks and fullwidth/compatibility forms.
      const k = 1 + Math.floor(rnd() * 10);
      for (let i = 0; i < k; i++) {
        s += String.fromCharCode(0x41 + Math.floor(rnd() * 26));
        const m = Math.floor(rnd() * 4);
        for (let j = 0; j < m; j++) s += String.fromCharCode(0x300 + Math.floor(rnd() * 0x70));
        if (rnd() < 0.4) s += String.fromCharCode(0xff01 + Math.floor(rnd() * 0x5e));
      }
    } else if (kind < 0.9) {
      // Emoji sequences: ZWJ, skin tones, flags, variation selectors.
      const k = 1 + Math.floor(rnd() * 6);
      for (let i = 0; i < k; i++) {
        s += String.fromCodePoint(0x1f466 + Math.floor(rnd() * 4));
        if (rnd() < 0.5) s += String.fromCodePoint(0x1f3fb + Math.floor(rnd() * 5));
        if (rnd() < 0.3) s += `\u200d${String.fromCodePoint(0x1f3a4)}`;
        if (rnd() < 0.3) s += '\ufe0f';
        if (rnd() < 0.2) s += '🇫🇷';
        s += pick(SPACES);
      }
    } else if (kind < 0.97) {
      // Long prompts.
      const k = 40 + Math.floor(rnd() * 300);
      for (let i = 0; i < k; i++) s += pick(WORDS) + (rnd() < 0.9 ? ' ' : pick(SPACES));
    } else {
      // Whitespace-only and whitespace-heavy strings.
      const k = 1 + Math.floor(rnd() * 8);
      for (let i = 0; i < k; i++) s += pick(SPACES) + (rnd() < 0.3 ? pick(WORDS) : '');
    }
    out.push(s);
  }
  return out.slice(0, n);
}

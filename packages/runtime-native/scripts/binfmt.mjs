// Readers for the three shared-library formats the prebuilds come in (ELF, Mach-O, PE/COFF): just the
// parts the build and the tests check — machine, exported names, imported names per library, load
// commands, and the Mach-O code signature. Plain JS with no dependencies (fetch-litert.mjs uses it at
// build time in an installed package).
import { createHash } from 'node:crypto';

const cstr = (buf, off, end = buf.length) => {
  let e = off;
  while (e < end && buf[e] !== 0) e++;
  return buf.toString('latin1', off, e);
};

/** Defined global/weak symbols of an ELF64 little-endian shared object's .dynsym. */
export function elfDynamicSymbols(buf) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) {
    throw new Error('not an ELF64 little-endian file');
  }
  const machine = buf.readUInt16LE(18);
  const shoff = Number(buf.readBigUInt64LE(40));
  const shentsize = buf.readUInt16LE(58);
  const shnum = buf.readUInt16LE(60);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({
      type: buf.readUInt32LE(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 24)),
      size: Number(buf.readBigUInt64LE(o + 32)),
      link: buf.readUInt32LE(o + 40),
      entsize: Number(buf.readBigUInt64LE(o + 56)),
    });
  }
  const dynsym = sections.find((s) => s.type === 11); // SHT_DYNSYM
  if (!dynsym) throw new Error('no .dynsym section');
  const strtab = sections[dynsym.link];
  const names = new Set();
  for (let o = dynsym.offset; o + 24 <= dynsym.offset + dynsym.size; o += dynsym.entsize || 24) {
    const shndx = buf.readUInt16LE(o + 6);
    const bind = buf[o + 4] >> 4;
    if (shndx === 0 || (bind !== 1 && bind !== 2)) continue; // undefined, or local
    names.add(cstr(buf, strtab.offset + buf.readUInt32LE(o)));
  }
  return { machine, names };
}

// ---------------------------------------------------------------- Mach-O

export const MACHO = {
  CPU_ARM64: 0x0100000c,
  MH_EXECUTE: 2,
  MH_DYLIB: 6,
  MH_BUNDLE: 8,
  LC_SYMTAB: 0x2,
  LC_LOAD_DYLIB: 0xc,
  LC_ID_DYLIB: 0xd,
  LC_CODE_SIGNATURE: 0x1d,
  LC_LOAD_WEAK_DYLIB: 0x80000018,
  LC_RPATH: 0x8000001c,
  LC_REEXPORT_DYLIB: 0x8000001f,
  LC_DYLD_INFO_ONLY: 0x80000022,
  LC_DYLD_EXPORTS_TRIE: 0x80000033,
  DYNAMIC_LOOKUP_ORDINAL: 0xfe,
};

const uleb = (buf, pos) => {
  let v = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos.i++];
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return v;
  }
};

/** Names in a Mach-O export trie (LC_DYLD_INFO export_off, or LC_DYLD_EXPORTS_TRIE). */
function exportTrie(buf, start, size) {
  const names = new Set();
  const walk = (off, prefix, depth) => {
    if (depth > 256 || off >= size) throw new Error('malformed export trie');
    const pos = { i: start + off };
    const terminal = uleb(buf, pos);
    if (terminal > 0) names.add(prefix);
    pos.i += terminal;
    const children = buf[pos.i++];
    for (let c = 0; c < children; c++) {
      const edge = cstr(buf, pos.i);
      pos.i += edge.length + 1;
      walk(uleb(buf, pos), prefix + edge, depth + 1);
    }
  };
  if (size > 0) walk(0, '', 0);
  return names;
}

/**
 * Symbol → library ordinal from dyld bind opcodes (regular, weak and lazy binds): 1..n index the linked
 * dylibs, 0 is the image itself, -1 the main executable, -2 a flat (dynamic) lookup.
 */
function bindSymbols(buf, start, size, out) {
  const pos = { i: start };
  let ordinal = 0;
  let name = null;
  while (pos.i < start + size) {
    const b = buf[pos.i++];
    const op = b & 0xf0;
    const imm = b & 0x0f;
    if (op === 0x10) ordinal = imm;
    else if (op === 0x20) ordinal = uleb(buf, pos);
    else if (op === 0x30) ordinal = imm === 0 ? 0 : ((imm | 0xf0) << 24) >> 24;
    else if (op === 0x40) {
      name = cstr(buf, pos.i);
      pos.i += name.length + 1;
    } else if (op === 0x60 || op === 0x70 || op === 0x80 || op === 0xa0) {
      uleb(buf, pos); // (an SLEB for 0x60: same length)
    } else if (op === 0xc0) {
      uleb(buf, pos);
      uleb(buf, pos);
    } else if (op === 0xd0) throw new Error('threaded binds are not supported');
    if ((op === 0x90 || op === 0xa0 || op === 0xb0 || op === 0xc0) && name !== null) out.set(name, ordinal);
  }
}

/**
 * A thin (single-architecture) 64-bit Mach-O: header fields, load commands, linked dylibs (in ordinal
 * order), rpaths, exported names (export trie), undefined symbols with their library ordinal, and the
 * code signature's location.
 */
export function machO(buf) {
  if (buf.length < 32 || buf.readUInt32LE(0) !== 0xfeedfacf) throw new Error('not a 64-bit Mach-O file');
  const cputype = buf.readInt32LE(4);
  const filetype = buf.readUInt32LE(12);
  const ncmds = buf.readUInt32LE(16);
  const flags = buf.readUInt32LE(24);
  const commands = [];
  const dylibs = [];
  const rpaths = [];
  let id = null;
  let signature = null;
  let symtab = null;
  let exports = new Set();
  const binds = new Map(); // symbol -> library ordinal, as dyld binds it
  let off = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = buf.readUInt32LE(off);
    const size = buf.readUInt32LE(off + 4);
    commands.push(cmd);
    const str = (at) => cstr(buf, off + buf.readUInt32LE(off + at), off + size);
    if ([MACHO.LC_LOAD_DYLIB, MACHO.LC_LOAD_WEAK_DYLIB, MACHO.LC_REEXPORT_DYLIB].includes(cmd))
      dylibs.push(str(8));
    else if (cmd === MACHO.LC_ID_DYLIB) id = str(8);
    else if (cmd === MACHO.LC_RPATH) rpaths.push(str(8));
    else if (cmd === MACHO.LC_CODE_SIGNATURE)
      signature = { offset: buf.readUInt32LE(off + 8), size: buf.readUInt32LE(off + 12) };
    else if (cmd === MACHO.LC_SYMTAB)
      symtab = {
        symoff: buf.readUInt32LE(off + 8),
        nsyms: buf.readUInt32LE(off + 12),
        stroff: buf.readUInt32LE(off + 16),
      };
    else if (cmd === MACHO.LC_DYLD_INFO_ONLY) {
      exports = exportTrie(buf, buf.readUInt32LE(off + 40), buf.readUInt32LE(off + 44));
      for (const at of [16, 24, 32])
        bindSymbols(buf, buf.readUInt32LE(off + at), buf.readUInt32LE(off + at + 4), binds);
    } else if (cmd === MACHO.LC_DYLD_EXPORTS_TRIE)
      exports = exportTrie(buf, buf.readUInt32LE(off + 8), buf.readUInt32LE(off + 12));
    off += size;
  }
  const undefinedSymbols = [];
  if (symtab) {
    for (let s = 0; s < symtab.nsyms; s++) {
      const o = symtab.symoff + s * 16;
      const type = buf[o + 4];
      if (type & 0xe0) continue; // stab (debug) entry
      if ((type & 0x0e) !== 0 || !(type & 0x01)) continue; // N_UNDF + N_EXT only
      const name = cstr(buf, symtab.stroff + buf.readUInt32LE(o));
      undefinedSymbols.push({ name, ordinal: buf.readUInt16LE(o + 6) >> 8 });
    }
  }
  return {
    cputype,
    filetype,
    flags,
    commands,
    dylibs,
    rpaths,
    id,
    signature,
    exports,
    undefinedSymbols,
    binds,
  };
}

/**
 * Checks an embedded code signature against the file: the CodeDirectory's hash of every page up to its
 * code limit must match the bytes. Returns { adhoc, pages, identifier }; throws on any mismatch.
 */
export function verifyCodeSignature(buf, sig) {
  if (!sig) throw new Error('no LC_CODE_SIGNATURE');
  const sb = sig.offset;
  if (buf.readUInt32BE(sb) !== 0xfade0cc0) throw new Error('code signature: not an embedded signature');
  const count = buf.readUInt32BE(sb + 8);
  let cd = -1;
  for (let i = 0; i < count; i++) {
    const type = buf.readUInt32BE(sb + 12 + i * 8);
    const at = sb + buf.readUInt32BE(sb + 16 + i * 8);
    if (type === 0 && buf.readUInt32BE(at) === 0xfade0c02) cd = at;
  }
  if (cd < 0) throw new Error('code signature: no CodeDirectory');
  const flags = buf.readUInt32BE(cd + 12);
  const hashOffset = buf.readUInt32BE(cd + 16);
  const identifier = cstr(buf, cd + buf.readUInt32BE(cd + 20));
  const nCodeSlots = buf.readUInt32BE(cd + 28);
  const codeLimit = buf.readUInt32BE(cd + 32);
  const hashSize = buf[cd + 36];
  const hashType = buf[cd + 37];
  const pageSize = 2 ** buf[cd + 39];
  const algo = { 1: 'sha1', 2: 'sha256' }[hashType];
  if (!algo) throw new Error(`code signature: hash type ${hashType}`);
  if (codeLimit !== sig.offset)
    throw new Error(`code signature covers ${codeLimit} bytes, not ${sig.offset}`);
  if (nCodeSlots !== Math.ceil(codeLimit / pageSize)) throw new Error('code signature: page count');
  for (let p = 0; p < nCodeSlots; p++) {
    const page = buf.subarray(p * pageSize, Math.min((p + 1) * pageSize, codeLimit));
    const want = buf.subarray(cd + hashOffset + p * hashSize, cd + hashOffset + (p + 1) * hashSize);
    const got = createHash(algo).update(page).digest().subarray(0, hashSize);
    if (!got.equals(want)) throw new Error(`code signature: page ${p} does not match its hash`);
  }
  return { adhoc: (flags & 0x2) !== 0, pages: nCodeSlots, identifier, hash: algo };
}

/** Every symbol a text-based stub (.tbd, e.g. zig's libSystem.tbd) lists as exported. */
export function tbdSymbols(text) {
  const names = new Set();
  for (const m of text.matchAll(/(?:^|\s)(?:weak-|thread-local-)?symbols:\s*\[([^\]]*)\]/g))
    for (const n of m[1].split(',')) names.add(n.trim().replace(/^'|'$/g, ''));
  names.delete('');
  return names;
}

// ---------------------------------------------------------------- PE / COFF

export const PE = { AMD64: 0x8664, ARM64: 0xaa64, DLL: 0x2000 };

/** A PE32+ image: machine, DLL flag, exported names, and imported names per DLL. */
export function peImage(buf) {
  if (buf.length < 64 || buf.readUInt16LE(0) !== 0x5a4d) throw new Error('not a PE file (no MZ)');
  const pe = buf.readUInt32LE(0x3c);
  if (buf.readUInt32LE(pe) !== 0x4550) throw new Error('not a PE file (no PE signature)');
  const machine = buf.readUInt16LE(pe + 4);
  const nsections = buf.readUInt16LE(pe + 6);
  const optSize = buf.readUInt16LE(pe + 20);
  const characteristics = buf.readUInt16LE(pe + 22);
  const opt = pe + 24;
  if (buf.readUInt16LE(opt) !== 0x20b) throw new Error('not PE32+');
  const dir = (i) => ({
    rva: buf.readUInt32LE(opt + 112 + i * 8),
    size: buf.readUInt32LE(opt + 116 + i * 8),
  });
  const sections = [];
  for (let i = 0; i < nsections; i++) {
    const s = opt + optSize + i * 40;
    sections.push({
      va: buf.readUInt32LE(s + 12),
      vsize: buf.readUInt32LE(s + 8),
      raw: buf.readUInt32LE(s + 20),
      rawSize: buf.readUInt32LE(s + 16),
    });
  }
  const at = (rva) => {
    const s = sections.find((x) => rva >= x.va && rva < x.va + Math.max(x.vsize, x.rawSize));
    if (!s) throw new Error(`RVA 0x${rva.toString(16)} outside every section`);
    return s.raw + rva - s.va;
  };
  const exports = new Set();
  let name = null;
  const ex = dir(0);
  if (ex.rva) {
    const e = at(ex.rva);
    name = cstr(buf, at(buf.readUInt32LE(e + 12)));
    const n = buf.readUInt32LE(e + 24);
    const names = at(buf.readUInt32LE(e + 32));
    for (let i = 0; i < n; i++) exports.add(cstr(buf, at(buf.readUInt32LE(names + i * 4))));
  }
  const imports = new Map();
  const im = dir(1);
  if (im.rva) {
    for (let d = at(im.rva); ; d += 20) {
      const nameRva = buf.readUInt32LE(d + 12);
      if (!nameRva) break;
      const dll = cstr(buf, at(nameRva));
      const thunks = buf.readUInt32LE(d) || buf.readUInt32LE(d + 16);
      const list = imports.get(dll) ?? [];
      for (let t = at(thunks); ; t += 8) {
        const v = buf.readBigUInt64LE(t);
        if (v === 0n) break;
        if (v >> 63n)
          list.push(`#${Number(v & 0xffffn)}`); // by ordinal
        else list.push(cstr(buf, at(Number(v & 0x7fffffffn)) + 2));
      }
      imports.set(dll, list);
    }
  }
  return { machine, isDll: (characteristics & PE.DLL) !== 0, name, exports, imports };
}

import { AudiogenError } from '@audiogen/core';

/** A minimal protobuf wire-format reader: enough for SentencePiece's ModelProto. */
export class ProtoReader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private fail(what: string): never {
    throw new AudiogenError(
      'INVALID_TOKENIZER',
      `malformed SentencePiece model: ${what} at byte ${this.pos}`,
    );
  }

  /** Varint as a JS number (values beyond 2^53 lose precision, which no field we read needs). */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** int32 fields are sign-extended to 64 bits on the wire. */
  int32(): number {
    const v = this.varint();
    return v >= 2 ** 63 ? v - 2 ** 64 : v > 0x7fffffff ? v - 2 ** 32 : v;
  }

  float(): number {
    if (this.pos + 4 > this.end) this.fail('truncated float');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  lengthDelimited(): { start: number; end: number } {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) this.fail('length-delimited field runs past its message');
    this.pos = end;
    return { start, end };
  }

  bytesField(): Uint8Array {
    const { start, end } = this.lengthDelimited();
    return this.bytes.subarray(start, end);
  }

  string(): string {
    return decoder.decode(this.bytesField());
  }

  /** Reads a tag; returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const t = this.varint();
    const field = Math.floor(t / 8);
    if (field === 0) this.fail('field number 0');
    return [field, t & 7];
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        if (this.pos + 8 > this.end) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case 2:
        this.lengthDelimited();
        return;
      case 5:
        if (this.pos + 4 > this.end) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
  }

  sub(range: { start: number; end: number }): ProtoReader {
    return new ProtoReader(this.bytes, range.start, range.end);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });

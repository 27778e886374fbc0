// KPL aggregated records, read in the browser: the magic F3 89 9A C2, a
// protobuf AggregatedRecord, then the MD5 of the protobuf bytes (see the
// Go package aggregation, whose Deaggregate this follows rule for rule).
// WebCrypto has no MD5, hence the small one below. No imports: the module
// also runs under Node in the Go tests.

export const MAGIC = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
const DIGEST = 16;

// --- MD5 (RFC 1321) ---

const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = new Uint32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0;

/** md5 returns the 16-byte MD5 digest of bytes (a Uint8Array). */
export function md5(bytes) {
  const n = bytes.length;
  // Pad: 0x80, zeros to 56 mod 64, then the bit length little-endian.
  const total = (((n + 8) >>> 6) + 1) << 6;
  const buf = new Uint8Array(total);
  buf.set(bytes);
  buf[n] = 0x80;
  const dv = new DataView(buf.buffer);
  dv.setUint32(total - 8, (n << 3) >>> 0, true);
  dv.setUint32(total - 4, Math.floor(n / 2 ** 29), true);
  let a0 = 0x67452301, b0 = 0xefcdab89, c0 = 0x98badcfe, d0 = 0x10325476;
  const m = new Uint32Array(16);
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) m[i] = dv.getUint32(off + 4 * i, true);
    let a = a0, b = b0, c = c0, d = d0;
    for (let i = 0; i < 64; i++) {
      let f, g;
      if (i < 16) { f = (b & c) | (~b & d); g = i; }
      else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
      else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
      else { f = c ^ (b | ~d); g = (7 * i) & 15; }
      const x = (a + f + K[i] + m[g]) | 0;
      const s = S[((i >>> 4) << 2) | (i & 3)];
      a = d; d = c; c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0; b0 = (b0 + b) | 0; c0 = (c0 + c) | 0; d0 = (d0 + d) | 0;
  }
  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, a0, true); ov.setUint32(4, b0, true); ov.setUint32(8, c0, true); ov.setUint32(12, d0, true);
  return out;
}

// --- hash keys ---

const utf8 = new TextEncoder();

/** hashKeyOf is the 128-bit hash key (a BigInt) Kinesis routes a
 * partition key by: the MD5 of its UTF-8 bytes, read big-endian. bytes
 * may be given instead of a string. */
export function hashKeyOf(partitionKey) {
  const b = typeof partitionKey === 'string' ? utf8.encode(partitionKey) : partitionKey;
  let k = 0n;
  for (const x of md5(b)) k = (k << 8n) | BigInt(x);
  return k;
}

// --- protobuf ---

/** DeaggregationError says why bytes are not a readable aggregated
 * record; kind is "not-aggregated", "checksum" or "malformed", as the Go
 * package's ErrNotAggregated, ErrChecksum and ErrMalformed. */
export class DeaggregationError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'DeaggregationError';
    this.kind = kind;
  }
}

const malformed = msg => new DeaggregationError('malformed', 'malformed aggregated record: ' + msg);

const VARINT = 0, FIXED64 = 1, BYTES = 2, START_GROUP = 3, END_GROUP = 4, FIXED32 = 5;
const RECURSION_LIMIT = 10000; // protowire.DefaultRecursionLimit

// A reader over b[pos:end]. Varints are Numbers: exact up to 2^53, and a
// larger value is only ever compared with a length or a table size, which
// it exceeds either way.
class Reader {
  constructor(b, pos = 0, end = b.length) { this.b = b; this.pos = pos; this.end = end; }
  more() { return this.pos < this.end; }
  varint() {
    let v = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('truncated varint');
      const y = this.b[this.pos++];
      if (i === 9 && y >= 2) throw malformed('varint overflows 64 bits');
      v += (y & 0x7f) * mul;
      if (y < 0x80) return v;
      mul *= 128;
    }
    throw malformed('varint overflows 64 bits'); // not reached
  }
  tag() {
    const first = this.pos < this.end ? this.b[this.pos] : 0;
    const x = this.varint();
    const num = Math.floor(x / 8);
    if (num < 1 || num > 0x7fffffff) throw malformed('invalid field number');
    return [num, first & 7];
  }
  bytes() {
    const n = this.varint();
    if (n > this.end - this.pos) throw malformed('truncated bytes field');
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  // skip passes over one field's value. Groups nest without recursion:
  // a deep one must not blow the JS stack before the Go limit is reached.
  skip(num, typ) {
    const open = []; // field numbers of the groups being skipped
    for (;;) {
      switch (typ) {
        case VARINT: this.varint(); break;
        case FIXED32: this.advance(4); break;
        case FIXED64: this.advance(8); break;
        case BYTES: this.bytes(); break;
        case START_GROUP:
          if (open.length > RECURSION_LIMIT) throw malformed('groups nested too deep');
          open.push(num);
          break;
        case END_GROUP:
          if (open.length === 0) throw malformed('unexpected end group');
          if (open.pop() !== num) throw malformed('mismatched end group');
          break;
        default: throw malformed('reserved wire type');
      }
      if (open.length === 0) return;
      [num, typ] = this.tag();
    }
  }
  advance(n) {
    if (this.end - this.pos < n) throw malformed('truncated fixed field');
    this.pos += n;
  }
}

const text = new TextDecoder('utf-8');

/** checkFrame returns the protobuf message inside an aggregated record
 * (Uint8Array), or throws a DeaggregationError. */
export function checkFrame(data) {
  if (data.length <= MAGIC.length + DIGEST || !MAGIC.every((x, i) => data[i] === x)) {
    throw new DeaggregationError('not-aggregated', 'not an aggregated record');
  }
  const msg = data.subarray(MAGIC.length, data.length - DIGEST);
  const sum = md5(msg);
  const want = data.subarray(data.length - DIGEST);
  if (!sum.every((x, i) => x === want[i])) throw new DeaggregationError('checksum', 'checksum mismatch');
  return msg;
}

/** isAggregated reports whether data is framed as an aggregated record
 * (magic, a non-empty message, a matching MD5); the message itself may
 * still be malformed. */
export function isAggregated(data) {
  try {
    checkFrame(data);
    return true;
  } catch {
    return false;
  }
}

/** deaggregate decodes an aggregated record (a Uint8Array) into its user
 * records, in order: {partitionKey, explicitHashKey, data} with the keys
 * as strings (explicitHashKey "" when absent), data a Uint8Array, and the
 * raw key bytes in partitionKeyBytes and explicitHashKeyBytes. It throws a
 * DeaggregationError for bytes it cannot read. */
export function deaggregate(data) {
  return decodeMessage(checkFrame(data));
}

function decodeMessage(msg) {
  const pks = [], ehks = [], raws = [];
  const r = new Reader(msg);
  while (r.more()) {
    const [num, typ] = r.tag();
    if (typ === BYTES && num >= 1 && num <= 3) {
      const v = r.bytes();
      if (num === 1) pks.push(v);
      else if (num === 2) ehks.push(v);
      else raws.push(decodeRecord(v));
      continue;
    }
    r.skip(num, typ);
  }
  return raws.map((raw, i) => {
    if (raw.pk >= pks.length) throw malformed(`record ${i}: partition key index ${raw.pk}, table has ${pks.length}`);
    const out = {
      partitionKey: text.decode(pks[raw.pk]),
      partitionKeyBytes: pks[raw.pk],
      explicitHashKey: '',
      explicitHashKeyBytes: null,
      data: raw.data,
    };
    if (raw.ehk !== undefined) {
      if (raw.ehk >= ehks.length) throw malformed(`record ${i}: explicit hash key index ${raw.ehk}, table has ${ehks.length}`);
      const ehk = text.decode(ehks[raw.ehk]);
      if (!/^[+-]?[0-9]+$/.test(ehk)) throw malformed(`record ${i}: explicit hash key ${JSON.stringify(ehk)} is not an integer`);
      out.explicitHashKey = ehk;
      out.explicitHashKeyBytes = ehks[raw.ehk];
    }
    return out;
  });
}

function decodeRecord(b) {
  const r = new Reader(b);
  const out = { pk: undefined, ehk: undefined, data: undefined };
  while (r.more()) {
    const [num, typ] = r.tag();
    if (typ === VARINT && (num === 1 || num === 2)) {
      const v = r.varint();
      if (num === 1) out.pk = v;
      else out.ehk = v;
    } else if (typ === BYTES && (num === 3 || num === 4)) {
      const v = r.bytes();
      if (num === 3) out.data = v;
      else checkTag(v);
    } else {
      r.skip(num, typ);
    }
  }
  if (out.pk === undefined) throw malformed('record lacks partition_key_index');
  if (out.data === undefined) throw malformed('record lacks data');
  return out;
}

// Tags are not shown (the KPL never writes them), but a Tag without its
// required key makes the message unparsable for the KCL.
function checkTag(b) {
  const r = new Reader(b);
  let hasKey = false;
  while (r.more()) {
    const [num, typ] = r.tag();
    if (num === 1 && typ === BYTES) hasKey = true;
    r.skip(num, typ);
  }
  if (!hasKey) throw malformed('tag lacks key');
}

/** hashKeyOfRecord is the hash key (BigInt) a user record is routed by:
 * its explicit hash key if it has one, else its partition key's MD5. */
export function hashKeyOfRecord(rec) {
  if (rec.explicitHashKey) return BigInt(rec.explicitHashKey);
  return hashKeyOf(rec.partitionKeyBytes ?? rec.partitionKey);
}

/**
 * A hash vector packed for keeping in memory: the same indices and float32 values in ~40% of
 * the bytes, in one buffer.
 *
 * The vector cache (vector-cache.ts) holds the vectors of the memories a small corpus is
 * ranked with, whole; as plain typed arrays (4 + 4 bytes per bucket, ~450 buckets) a project
 * of a few thousand memories did not fit in the cache's budget, so every search evicted and
 * re-fetched vectors, and the evicted ones were old-generation garbage. Packed:
 *   - indices as gaps from the previous index, 2 bytes each (a gap of 0 cannot occur, so 0
 *     escapes a gap ≥ 65,536 written as two more 16-bit halves);
 *   - values as 1-byte codes into a palette of the vector's distinct values (a vector has
 *     ~30 distinct values: a feature's weight times its count, over one norm), or as plain
 *     float32 when it has more than 256.
 * Lossless: `dot` adds exactly the products `cosine` adds, in the same order, so rankings do
 * not depend on whether a vector came from the cache.
 */
import { decodeVector, type SparseVector } from '../vectorize/index.ts';
import { sparseDot } from '../vectorize/vector.ts';

export interface PackedVector {
  /** Number of buckets. */
  readonly count: number;
  /** Distinct values (coded) or every value in index order (not coded). */
  readonly palette: Float32Array;
  /** Gaps between successive indices (the first from -1), 0 escaping a 32-bit gap. */
  readonly gaps: Uint16Array;
  /** Palette position of each value, or undefined when the values are stored plainly. */
  readonly codes: Uint8Array | undefined;
}

const MAX_PALETTE = 256;
const ESCAPE = 0;
const HALF = 0x10000;

/**
 * Palette slots by float32 bit pattern: an open-addressing table reused by every `pack` (a Map
 * keyed by the values cost ~20 µs per vector, most of what caching a fetched vector cost).
 */
const TABLE_SIZE = 1024; // a power of two, at least 2 × (MAX_PALETTE + 1): probes stay short
const tableKeys = new Int32Array(TABLE_SIZE);
const tableSlots = new Int16Array(TABLE_SIZE); // palette position + 1; 0 marks an empty slot
const touched = new Int32Array(MAX_PALETTE + 1);

/** Palette position of a float32 bit pattern, adding it when new; -1 once the palette is full. */
function paletteSlot(bits: number, palette: number[]): number {
  let h = Math.imul(bits, 0x9e3779b1) >>> 22; // top 10 bits: TABLE_SIZE = 2^10
  for (;;) {
    const slot = tableSlots[h]!;
    if (slot === 0) {
      if (palette.length > MAX_PALETTE) return -1;
      touched[palette.length] = h;
      palette.push(bits);
      tableKeys[h] = bits;
      tableSlots[h] = palette.length;
      return palette.length - 1;
    }
    if (tableKeys[h] === bits) return slot - 1;
    h = (h + 1) & (TABLE_SIZE - 1);
  }
}

export function pack(v: SparseVector): PackedVector {
  const count = v.indices.length;
  const bits = new Int32Array(v.values.buffer, v.values.byteOffset, count);
  const distinct: number[] = [];
  const positions = new Uint8Array(count);
  let coded = true;
  for (let i = 0; i < count; i++) {
    const position = paletteSlot(bits[i]!, distinct);
    if (position < 0 || position >= MAX_PALETTE) {
      coded = false;
      break;
    }
    positions[i] = position;
  }
  for (let i = 0; i < distinct.length; i++) tableSlots[touched[i]!] = 0; // leave the table empty
  let escapes = 0;
  for (let i = 0, previous = -1; i < count; i++) {
    if (v.indices[i]! - previous >= HALF) escapes++;
    previous = v.indices[i]!;
  }
  const paletteLength = coded ? distinct.length : count;
  const gapsLength = count + 2 * escapes;
  // One buffer: float32 palette first (4-byte aligned), then the 16-bit gaps, then the codes.
  const buffer = new ArrayBuffer(4 * paletteLength + 2 * gapsLength + (coded ? count : 0));
  const palette = new Float32Array(buffer, 0, paletteLength);
  const gaps = new Uint16Array(buffer, 4 * paletteLength, gapsLength);
  const codes = coded ? new Uint8Array(buffer, 4 * paletteLength + 2 * gapsLength, count) : undefined;
  if (codes) {
    new Int32Array(buffer, 0, paletteLength).set(distinct);
    codes.set(positions);
  } else {
    palette.set(v.values);
  }
  for (let i = 0, k = 0, previous = -1; i < count; i++) {
    const gap = v.indices[i]! - previous;
    if (gap >= HALF) {
      gaps[k++] = ESCAPE;
      gaps[k++] = Math.floor(gap / HALF);
      gaps[k++] = gap % HALF;
    } else {
      gaps[k++] = gap;
    }
    previous = v.indices[i]!;
  }
  return { count, palette, gaps, codes };
}

export function unpack(p: PackedVector): SparseVector {
  const indices = new Int32Array(p.count);
  const values = new Float32Array(p.count);
  for (let i = 0, k = 0, index = -1; i < p.count; i++) {
    let gap = p.gaps[k++]!;
    if (gap === ESCAPE) gap = p.gaps[k++]! * HALF + p.gaps[k++]!;
    index += gap;
    indices[i] = index;
    values[i] = p.codes ? p.palette[p.codes[i]!]! : p.palette[i]!;
  }
  return { indices, values };
}

export function isPacked(v: PackedVector | SparseVector | EncodedVector): v is PackedVector {
  return 'gaps' in v;
}

/**
 * A vector as a ranking query returns it: vectorize's encoding (a count, the indices, the
 * float32 values, little-endian) in base64, not decoded. A large corpus's candidates are used
 * once, for one dot product each: decoding each into typed arrays (~3.5 KB of new objects per
 * candidate, ~400 candidates per search) only made garbage. `dot` decodes the base64 into one
 * reused buffer instead; `toSparse` decodes for keeps (the few results).
 */
export interface EncodedVector {
  readonly base64: string;
}

export function isEncoded(v: PackedVector | SparseVector | EncodedVector): v is EncodedVector {
  return 'base64' in v;
}

/** A plain vector of any form (a copy for packed and encoded ones). */
export function toSparse(v: PackedVector | SparseVector | EncodedVector): SparseVector {
  if (isPacked(v)) return unpack(v);
  if (isEncoded(v)) return decodeVector(Buffer.from(v.base64, 'base64'));
  return v;
}

/** Bytes held by a packed vector (its buffer). */
export function packedBytes(p: PackedVector): number {
  return p.palette.buffer.byteLength;
}

/**
 * The dot product of a vector with a packed or plain one — their cosine, both being
 * L2-normalised — clamped and NaN-guarded as vectorize's `cosine`; undefined when they share
 * no bucket.
 */
export function dot(q: SparseVector, p: PackedVector | SparseVector | EncodedVector): number | undefined {
  if (isEncoded(p)) return encodedDot(q, p.base64);
  if (!isPacked(p)) return sparseDot(q, p);
  const qi = q.indices;
  const qv = q.values;
  const { count, palette, gaps, codes } = p;
  let j = 0;
  let index = -1;
  let sum = 0;
  let shared = false;
  for (let i = 0, k = 0; i < count && j < qi.length; i++) {
    let gap = gaps[k++]!;
    if (gap === ESCAPE) gap = gaps[k++]! * HALF + gaps[k++]!;
    index += gap;
    while (j < qi.length && qi[j]! < index) j++;
    if (j < qi.length && qi[j] === index) {
      sum += qv[j++]! * (codes ? palette[codes[i]!]! : palette[i]!);
      shared = true;
    }
  }
  if (!shared) return undefined;
  if (Number.isNaN(sum)) return 0;
  return sum > 1 ? 1 : sum < -1 ? -1 : sum;
}

/** Typed-array views read the encoding's little-endian numbers directly only on a little-endian machine. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/**
 * The reused decoding buffer (4-byte aligned: its own ArrayBuffer) and its 32-bit views, made
 * on first use (not at module load, which may run while the start-up snapshot is built).
 */
let scratch = Buffer.alloc(0);
let scratchInts = new Int32Array(0);
let scratchFloats = new Float32Array(0);

/** `sparseDot` of q with a base64-encoded vector, decoded into the scratch buffer (views on it, no copies). */
function encodedDot(q: SparseVector, base64: string): number | undefined {
  const most = Math.ceil(base64.length / 4) * 3;
  if (!LITTLE_ENDIAN) return sparseDot(q, decodeVector(Buffer.from(base64, 'base64')));
  if (most > scratch.byteLength) {
    scratch = Buffer.allocUnsafeSlow(Math.max(16 * 1024, 2 ** Math.ceil(Math.log2(most))));
    scratchInts = new Int32Array(scratch.buffer, 0, scratch.byteLength >>> 2);
    scratchFloats = new Float32Array(scratch.buffer, 0, scratch.byteLength >>> 2);
  }
  const length = scratch.write(base64, 0, 'base64');
  const count = length >= 4 ? scratchInts[0]! >>> 0 : -1;
  // Malformed: decodeVector throws the error that names the problem.
  if (length !== 4 + 8 * count) return sparseDot(q, decodeVector(Buffer.from(base64, 'base64')));
  return sparseDot(q, { indices: scratchInts.subarray(1, 1 + count), values: scratchFloats.subarray(1 + count, 1 + 2 * count) });
}

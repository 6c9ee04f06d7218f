/**
 * A hash vector packed: the same indices and float32 values in ~40% of the bytes, in one
 * buffer — both how a vector is stored (the `vector` column) and how the vector cache keeps it.
 *
 *   - indices as gaps from the previous index, 2 bytes each (a gap of 0 cannot occur, so 0
 *     escapes a gap ≥ 65,536 written as two more 16-bit halves);
 *   - values as 1-byte codes into a palette of the vector's distinct values (a vector has
 *     ~30 distinct values: a feature's weight times its count, over one norm), or as plain
 *     float32 when it has more than 256.
 *
 * Why stored packed: a search in a large project reads the vectors of ~400 candidates, and at
 * 4 + 8 bytes per bucket (vectorize's codec, ~3.5 KB a memory) reading them — two TOAST chunks
 * each, base64 of 4.7 KB, parsed and decoded again in Sage — was ~45% of the candidate query's
 * time (measured on the scale benchmark's 10,000 memories: its PostgreSQL time over 102 searches
 * of the two large projects 2,083 → 1,267 ms with vectors of the packed size). The price: a dot
 * product with an encoded packed vector checks it and walks its gaps in order, ~1.5 µs against
 * ~0.45 µs for the 8-byte form (239 buckets; checking without views or copies did not make it
 * faster). Kept in memory,
 * as plain typed arrays a project of a few thousand memories did not fit the vector cache's
 * budget (vector-cache.ts).
 *
 * Lossless: `dot` adds exactly the products `cosine` adds, in the same order, so rankings do
 * not depend on how a vector was stored or whether it came from the cache.
 *
 * Stored layout (little-endian), which the PackedVector's views cover in place:
 *
 *   u32 0x80000000 | count   u32 gaps length   u16 palette length   u16 flags (1: coded)
 *   float32 × palette length | u16 × gaps length | u8 × count (coded only)
 *
 * vectorize's own encoding starts with its u32 count, which never has the top bit set, so
 * `fromStored` reads both: rows written before this format keep working (and
 * `sage reindex --all` rewrites them packed).
 */
import { decodeVector, type SparseVector } from '../vectorize/index.ts';
import { sparseDot } from '../vectorize/vector.ts';

export interface PackedVector {
  /** Number of buckets. The three views share one buffer, whose first HEADER bytes are the stored header. */
  readonly count: number;
  /** Distinct values (coded) or every value in index order (not coded). */
  readonly palette: Float32Array;
  /** Gaps between successive indices (the first from -1), 0 escaping a 32-bit gap. */
  readonly gaps: Uint16Array;
  /** Palette position of each value, or undefined when the values are stored plainly. */
  readonly codes: Uint8Array | undefined;
}

const MAX_PALETTE = 256;
/** Stored header: marker and count, gaps length, palette length, flags. */
const HEADER = 12;
const MARKER = 0x80000000;
const CODED = 1;
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
  // One buffer: the header, the float32 palette (4-byte aligned), the 16-bit gaps, the codes.
  const buffer = new ArrayBuffer(HEADER + 4 * paletteLength + 2 * gapsLength + (coded ? count : 0));
  const header = new DataView(buffer, 0, HEADER);
  header.setUint32(0, (MARKER | count) >>> 0, true);
  header.setUint32(4, gapsLength, true);
  header.setUint16(8, paletteLength, true);
  header.setUint16(10, coded ? CODED : 0, true);
  const palette = new Float32Array(buffer, HEADER, paletteLength);
  const gaps = new Uint16Array(buffer, HEADER + 4 * paletteLength, gapsLength);
  const codes = coded ? new Uint8Array(buffer, HEADER + 4 * paletteLength + 2 * gapsLength, count) : undefined;
  if (codes) {
    new Int32Array(buffer, HEADER, paletteLength).set(distinct);
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

/** Typed-array views read the stored little-endian numbers directly only on a little-endian machine. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The bytes to store for a vector (the `vector` column): the packed layout with its header. */
export function storedVector(v: SparseVector): Uint8Array {
  const p = pack(v);
  const bytes = new Uint8Array(p.palette.buffer);
  if (!LITTLE_ENDIAN) {
    // The views were written in this machine's byte order: rewrite them little-endian.
    const view = new DataView(bytes.buffer);
    const at = HEADER;
    p.palette.forEach((x, i) => view.setFloat32(at + 4 * i, x, true));
    p.gaps.forEach((g, i) => view.setUint16(at + 4 * p.palette.length + 2 * i, g, true));
  }
  return bytes;
}

/** Whether stored bytes are in the packed layout (else vectorize's encoding: `decodeVector`). */
export function isStoredPacked(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && (bytes[3]! & 0x80) !== 0;
}

function malformed(problem: string): Error {
  return new Error(`stored vector: ${problem}`);
}

/**
 * A packed vector over stored bytes, checked as `decodeVector` checks its encoding (a corrupt
 * row fails loudly instead of scoring silently wrong). The views cover `bytes` in place when
 * they may (4-byte aligned, a little-endian machine, `copy` not asked for); else over a copy.
 */
export function readPacked(bytes: Uint8Array, copy = false): PackedVector {
  if (bytes.byteLength < HEADER) throw malformed(`${bytes.byteLength} bytes is too short for the ${HEADER}-byte header`);
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER);
  const first = header.getUint32(0, true);
  if ((first & MARKER) === 0) throw malformed('not in the packed layout');
  const count = first & ~MARKER;
  const gapsLength = header.getUint32(4, true);
  const paletteLength = header.getUint16(8, true);
  const flags = header.getUint16(10, true);
  if (flags !== 0 && flags !== CODED) throw malformed(`unknown flags ${flags}`);
  const coded = flags === CODED;
  if (coded ? (paletteLength < 1 && count > 0) || paletteLength > MAX_PALETTE : paletteLength !== count) {
    throw malformed(`palette of ${paletteLength} for ${count} ${coded ? 'coded' : 'plain'} values`);
  }
  if (gapsLength < count || gapsLength > 3 * count) throw malformed(`${gapsLength} gaps for ${count} buckets`);
  const expected = HEADER + 4 * paletteLength + 2 * gapsLength + (coded ? count : 0);
  if (bytes.byteLength !== expected) throw malformed(`header says ${expected} bytes but got ${bytes.byteLength}`);
  let buffer: ArrayBuffer;
  let at: number;
  if (!copy && LITTLE_ENDIAN && bytes.byteOffset % 4 === 0 && bytes.buffer instanceof ArrayBuffer) {
    buffer = bytes.buffer;
    at = bytes.byteOffset;
  } else {
    const own = new Uint8Array(bytes.byteLength);
    own.set(bytes);
    buffer = own.buffer;
    at = 0;
  }
  const palette = new Float32Array(buffer, at + HEADER, paletteLength);
  const gaps = new Uint16Array(buffer, at + HEADER + 4 * paletteLength, gapsLength);
  const codes = coded ? new Uint8Array(buffer, at + HEADER + 4 * paletteLength + 2 * gapsLength, count) : undefined;
  if (!LITTLE_ENDIAN) {
    const view = new DataView(buffer, at);
    for (let i = 0; i < paletteLength; i++) palette[i] = view.getFloat32(HEADER + 4 * i, true);
    for (let i = 0; i < gapsLength; i++) gaps[i] = view.getUint16(HEADER + 4 * paletteLength + 2 * i, true);
  }
  for (let i = 0; i < paletteLength; i++) if (!Number.isFinite(palette[i]!)) throw malformed(`palette value ${i} is not finite`);
  if (codes) for (let i = 0; i < count; i++) if (codes[i]! >= paletteLength) throw malformed(`code ${codes[i]} at position ${i} is outside the palette`);
  let k = 0;
  let index = -1;
  for (let i = 0; i < count; i++) {
    if (k >= gapsLength) throw malformed(`the gaps end before bucket ${i}`);
    let gap = gaps[k++]!;
    if (gap === ESCAPE) {
      if (k + 2 > gapsLength) throw malformed(`an escaped gap at bucket ${i} is cut off`);
      gap = gaps[k++]! * HALF + gaps[k++]!;
      if (gap < HALF) throw malformed(`an escaped gap at bucket ${i} is below ${HALF}`);
    }
    index += gap;
    if (index > 0x7fffffff) throw malformed(`bucket ${i} is beyond 2^31`);
  }
  if (k !== gapsLength) throw malformed(`${gapsLength - k} gaps left over after ${count} buckets`);
  return { count, palette, gaps, codes };
}

/** A stored vector in either layout: packed (as stored now) or vectorize's encoding (rows written before). */
export function fromStored(bytes: Uint8Array): PackedVector | SparseVector {
  return isStoredPacked(bytes) ? readPacked(bytes, true) : decodeVector(bytes);
}

/**
 * A vector as a ranking query returns it: the stored bytes (the packed layout, or vectorize's
 * encoding for rows written before it) in base64, not decoded. A large corpus's candidates are
 * used once, for one dot product each: decoding each into typed arrays (new objects of a few KB
 * per candidate, ~400 candidates per search) only made garbage. `dot` decodes the base64 into one
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
  if (isEncoded(v)) {
    const stored = fromStored(Buffer.from(v.base64, 'base64'));
    return isPacked(stored) ? unpack(stored) : stored;
  }
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
  return packedDot(q, p);
}

function packedDot(q: SparseVector, p: PackedVector): number | undefined {
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

/**
 * The reused decoding buffer (4-byte aligned: its own ArrayBuffer) and its 32-bit views, made
 * on first use (not at module load, which may run while the start-up snapshot is built).
 */
let scratch = Buffer.alloc(0);
let scratchInts = new Int32Array(0);
let scratchFloats = new Float32Array(0);

/** `dot` of q with a base64-encoded stored vector, decoded into the scratch buffer (views on it, no copies). */
function encodedDot(q: SparseVector, base64: string): number | undefined {
  const most = Math.ceil(base64.length / 4) * 3;
  if (!LITTLE_ENDIAN) return dot(q, fromStored(Buffer.from(base64, 'base64')));
  if (most > scratch.byteLength) {
    scratch = Buffer.allocUnsafeSlow(Math.max(16 * 1024, 2 ** Math.ceil(Math.log2(most))));
    scratchInts = new Int32Array(scratch.buffer, 0, scratch.byteLength >>> 2);
    scratchFloats = new Float32Array(scratch.buffer, 0, scratch.byteLength >>> 2);
  }
  const length = scratch.write(base64, 0, 'base64');
  // Checked first (readPacked throws the error that names a problem): ~1 µs a candidate.
  if (isStoredPacked(scratch.subarray(0, length))) return packedDot(q, readPacked(scratch.subarray(0, length)));
  const count = length >= 4 ? scratchInts[0]! >>> 0 : -1;
  // Malformed: decodeVector throws the error that names the problem.
  if (length !== 4 + 8 * count) return sparseDot(q, decodeVector(Buffer.from(base64, 'base64')));
  return sparseDot(q, { indices: scratchInts.subarray(1, 1 + count), values: scratchFloats.subarray(1 + count, 1 + 2 * count) });
}

/**
 * Binary form of a sparse vector, as stored in Postgres (bytea):
 *
 *   u32 count | count × int32 index | count × float32 value      (all little-endian)
 *
 * 4 + 8·count bytes, fixed-width and unambiguous, cheap to decode in any language. Decoding
 * checks everything a stored vector must satisfy, so a corrupt row fails loudly instead of
 * scoring silently wrong.
 */
import type { SparseVector } from './vector.ts';

const HEADER = 4;
const ENTRY = 8;

export function encodeVector(v: SparseVector): Uint8Array {
  const count = v.indices.length;
  if (v.values.length !== count) {
    throw new Error(`encodeVector: ${count} indices but ${v.values.length} values`);
  }
  const bytes = new Uint8Array(HEADER + ENTRY * count);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, count, true);
  const valuesAt = HEADER + 4 * count;
  for (let i = 0; i < count; i++) {
    view.setInt32(HEADER + 4 * i, v.indices[i]!, true);
    view.setFloat32(valuesAt + 4 * i, v.values[i]!, true);
  }
  return bytes;
}

/** Throws an Error naming the problem when `bytes` is not a well-formed encoded vector. */
export function decodeVector(bytes: Uint8Array): SparseVector {
  if (!(bytes instanceof Uint8Array)) throw new Error('decodeVector: expected a Uint8Array');
  if (bytes.byteLength < HEADER) {
    throw new Error(`decodeVector: ${bytes.byteLength} bytes is too short for the 4-byte count header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  const expected = HEADER + ENTRY * count;
  if (bytes.byteLength !== expected) {
    throw new Error(`decodeVector: header says ${count} entries (${expected} bytes) but got ${bytes.byteLength} bytes`);
  }
  const indices = new Int32Array(count);
  const values = new Float32Array(count);
  const valuesAt = HEADER + 4 * count;
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const index = view.getInt32(HEADER + 4 * i, true);
    if (index <= previous) {
      throw new Error(`decodeVector: index ${index} at position ${i} is negative or not strictly ascending`);
    }
    const value = view.getFloat32(valuesAt + 4 * i, true);
    if (!Number.isFinite(value)) throw new Error(`decodeVector: value at position ${i} is not finite`);
    indices[i] = index;
    values[i] = value;
    previous = index;
  }
  return { indices, values };
}

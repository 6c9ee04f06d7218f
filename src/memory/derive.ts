/**
 * What Sage stores beside a memory's text, derived from it alone: the content hash (exact
 * duplicates), the hash vector and its bucket keys (similarity), and the weighted lexemes
 * (full-text search). Pure; `reindex` and import call the same function as a save.
 */
import { createHash } from 'node:crypto';
import { analyze, featureKeys, lex, vectorizeLexed, vectorizerVersion, type Lexed, type SparseVector } from '../vectorize/index.ts';
import { tsvectorBinary, tsvectorLiteral, type Weight } from '../store/lexemes.ts';
import type { Kind } from './model.ts';
import { storedVector } from './packed-vector.ts';

/** How much the user's side of a turn counts in its vector, relative to the response. */
const USER_SIDE_WEIGHT = 0.6;

export interface Derived {
  /** Lexical terms of the content, then of the user's side (not tags), duplicates kept. */
  terms: string[];
  contentHash: Uint8Array;
  /** As stored: packed (packed-vector.ts, storedVector). */
  vector: Uint8Array;
  vectorKeys: Int32Array;
  /** The tsvector as a literal (input syntax). */
  lexemes: string;
  vectorizerVersion: string;
  sparse: SparseVector;
}

/** What import stores: the same values, the tsvector in PostgreSQL's binary format (lexemes.ts). */
export interface DerivedForImport {
  contentHash: Uint8Array;
  vector: Uint8Array;
  vectorKeys: Int32Array;
  lexemes: Buffer;
}

export interface VectorSettings {
  dimension: number;
}

/** Whitespace differences do not make a memory new. */
export function canonical(text: string): string {
  return collapseWhitespace(text.normalize('NFKC'));
}

/** JavaScript's \s (and what trim() removes): WhiteSpace and LineTerminator. */
function isSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * `text.replace(/\s+/g, ' ').trim()`, by one scan that returns the text itself when it is
 * already collapsed (the common case): the regular expression cost ~13 µs per imported memory.
 */
export function collapseWhitespace(text: string): string {
  const n = text.length;
  let i = 0;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  let out = '';
  let from = i; // start of the text not yet copied to out
  let changed = i > 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (!isSpace(c)) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isSpace(text.charCodeAt(j))) j++;
    if (j === n) {
      // Trailing whitespace: dropped.
      out += text.slice(from, i);
      return out;
    }
    if (c !== 0x20 || j > i + 1) {
      out += text.slice(from, i) + ' ';
      from = j;
      changed = true;
    }
    i = j;
  }
  return changed ? out + text.slice(from) : text;
}

export function contentHash(kind: Kind, userText: string | null, content: string): Uint8Array {
  return createHash('sha256')
    .update(`${kind}\u0000${canonical(userText ?? '')}\u0000${canonical(content)}`)
    .digest();
}

/** a·wa + b·wb, renormalised to unit length. Both inputs have ascending indices. */
export function mixVectors(a: SparseVector, wa: number, b: SparseVector, wb: number): SparseVector {
  const indices: number[] = [];
  const values: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.indices.length || j < b.indices.length) {
    const ai = i < a.indices.length ? a.indices[i]! : Infinity;
    const bj = j < b.indices.length ? b.indices[j]! : Infinity;
    let value: number;
    let index: number;
    if (ai === bj) {
      index = ai;
      value = a.values[i++]! * wa + b.values[j++]! * wb;
    } else if (ai < bj) {
      index = ai;
      value = a.values[i++]! * wa;
    } else {
      index = bj;
      value = b.values[j++]! * wb;
    }
    if (value !== 0) {
      indices.push(index);
      values.push(value);
    }
  }
  let norm = 0;
  for (const v of values) norm += v * v;
  norm = Math.sqrt(norm);
  const out = new Float32Array(values.length);
  if (norm > 0) for (let k = 0; k < values.length; k++) out[k] = values[k]! / norm;
  return { indices: Int32Array.from(indices), values: out };
}

export function memoryVector(userText: string | null, content: string, settings: VectorSettings): SparseVector {
  return lexedMemoryVector(userText ? lex(userText) : null, userText, lex(content), settings);
}

function lexedMemoryVector(user: Lexed | null, userText: string | null, content: Lexed, settings: VectorSettings): SparseVector {
  const main = vectorizeLexed(content, settings);
  if (!user || !userText || userText.trim().length === 0) return main;
  return mixVectors(main, 1, vectorizeLexed(user, settings), USER_SIDE_WEIGHT);
}

type Runs = Array<{ terms: string[]; weight: Weight }>;

/** Everything but the lexemes' encoding, with the weighted runs the lexemes are made of. */
function deriveParts(kind: Kind, userText: string | null, content: string, tags: readonly string[], settings: VectorSettings) {
  // Each text is tokenised once, for both its vector and its lexemes.
  const contentLexed = lex(content);
  const userLexed = userText ? lex(userText) : null;
  const sparse = lexedMemoryVector(userLexed, userText, contentLexed, settings);
  const runs: Runs = [
    { terms: contentLexed.terms, weight: 'A' },
    { terms: tags.length === 0 ? [] : tags.flatMap((t) => analyze(t).terms), weight: 'A' },
  ];
  if (userLexed) runs.push({ terms: userLexed.terms, weight: 'B' });
  return { contentLexed, userLexed, sparse, runs, contentHash: contentHash(kind, userText, content) };
}

export function derive(kind: Kind, userText: string | null, content: string, tags: readonly string[], settings: VectorSettings): Derived {
  const { contentLexed, userLexed, sparse, runs, contentHash } = deriveParts(kind, userText, content, tags, settings);
  return {
    terms: userLexed ? [...contentLexed.terms, ...userLexed.terms] : contentLexed.terms,
    contentHash,
    vector: storedVector(sparse),
    vectorKeys: featureKeys(sparse),
    lexemes: tsvectorLiteral(runs),
    vectorizerVersion: vectorizerVersion(settings),
    sparse,
  };
}

/** `derive` for import: the same hash, vector, keys and tsvector, the tsvector in binary. */
export function deriveForImport(kind: Kind, userText: string | null, content: string, tags: readonly string[], settings: VectorSettings): DerivedForImport {
  const { sparse, runs, contentHash } = deriveParts(kind, userText, content, tags, settings);
  return {
    contentHash,
    vector: storedVector(sparse),
    // The vector's own indices: storedVector copied them, nothing else holds this array.
    vectorKeys: sparse.indices,
    lexemes: tsvectorBinary(runs),
  };
}

/**
 * What Sage stores beside a memory's text, derived from it alone: the content hash (exact
 * duplicates), the hash vector and its bucket keys (similarity), and the weighted lexemes
 * (full-text search). Pure; `reindex` and import call the same function as a save.
 */
import { createHash } from 'node:crypto';
import { analyze, encodeVector, featureKeys, lex, vectorizeLexed, vectorizerVersion, type Lexed, type SparseVector } from '../vectorize/index.ts';
import { tsvectorLiteral } from '../store/lexemes.ts';
import type { Kind } from './model.ts';

/** How much the user's side of a turn counts in its vector, relative to the response. */
const USER_SIDE_WEIGHT = 0.6;

export interface Derived {
  /** Lexical terms of the content, then of the user's side (not tags), duplicates kept. */
  terms: string[];
  contentHash: Uint8Array;
  vector: Uint8Array;
  vectorKeys: Int32Array;
  lexemes: string;
  vectorizerVersion: string;
  sparse: SparseVector;
}

export interface VectorSettings {
  dimension: number;
}

/** Whitespace differences do not make a memory new. */
function canonical(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, ' ').trim();
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

export function derive(kind: Kind, userText: string | null, content: string, tags: readonly string[], settings: VectorSettings): Derived {
  // Each text is tokenised once, for both its vector and its lexemes.
  const contentLexed = lex(content);
  const userLexed = userText ? lex(userText) : null;
  const sparse = lexedMemoryVector(userLexed, userText, contentLexed, settings);
  const runs: Array<{ terms: string[]; weight: 'A' | 'B' }> = [
    { terms: contentLexed.terms, weight: 'A' },
    { terms: tags.flatMap((t) => analyze(t).terms), weight: 'A' },
  ];
  if (userLexed) runs.push({ terms: userLexed.terms, weight: 'B' });
  return {
    terms: userLexed ? [...contentLexed.terms, ...userLexed.terms] : contentLexed.terms,
    contentHash: contentHash(kind, userText, content),
    vector: encodeVector(sparse),
    vectorKeys: featureKeys(sparse),
    lexemes: tsvectorLiteral(runs),
    vectorizerVersion: vectorizerVersion(settings),
    sparse,
  };
}

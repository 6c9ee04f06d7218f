/**
 * The baseline: plain Okapi BM25 (k1 1.2, b 0.75) from wink-bm25-text-search, one document
 * per turn, tokenised by wink-nlp-utils' tokenize0 after lower-casing — no stopwords, no
 * stemming, no context. This is "plain BM25 over the turn text" of the LoCoMo README. It
 * splits on whitespace and punctuation only, so it does not segment Chinese: on Chinese text
 * it shows what a stock BM25 does there, not what a tuned one could.
 */
import { createRequire } from 'node:module';

/** The part of wink-bm25-text-search's engine this uses (the package ships no types). */
interface WinkEngine {
  defineConfig(config: { fldWeights: Record<string, number>; bm25Params?: { k1?: number; b?: number } }): boolean;
  definePrepTasks(tasks: Array<(input: string) => unknown>): number;
  addDoc(doc: Record<string, string>, id: string): number;
  consolidate(precision?: number): boolean;
  search(text: string, limit?: number): Array<[string, number]>;
}

interface WinkNlpUtils {
  string: { lowerCase(s: string): string; tokenize0(s: string): string[] };
}

const require = createRequire(import.meta.url);
const createEngine = require('wink-bm25-text-search') as () => WinkEngine;
const nlp = require('wink-nlp-utils') as WinkNlpUtils;

/** Whether the engine can rank at all: wink refuses to consolidate fewer than 3 documents. */
export const MIN_DOCUMENTS = 3;

export class Bm25Baseline {
  #engine: WinkEngine;

  /** `docs`: id and text. Ids must be unique. */
  constructor(docs: ReadonlyArray<{ id: string; text: string }>) {
    if (docs.length < MIN_DOCUMENTS) throw new Error(`the BM25 baseline needs at least ${MIN_DOCUMENTS} documents, got ${docs.length}`);
    this.#engine = createEngine();
    this.#engine.defineConfig({ fldWeights: { text: 1 }, bm25Params: { k1: 1.2, b: 0.75 } });
    this.#engine.definePrepTasks([nlp.string.lowerCase, nlp.string.tokenize0]);
    for (const d of docs) this.#engine.addDoc({ text: d.text }, d.id);
    this.#engine.consolidate();
  }

  /** Ids of the best `limit` documents, best first. */
  search(query: string, limit: number): string[] {
    return this.#engine.search(query, limit).map(([id]) => id);
  }
}

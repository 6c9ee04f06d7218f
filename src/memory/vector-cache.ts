/**
 * Decoded hash vectors of recently ranked memories, kept in memory between searches.
 *
 * Ranking computes the cosine between the query and every candidate, and in a corpus of up to
 * RANKING.smallCorpus memories every memory is a candidate: fetching ~1,000 vectors of ~3.5 KB
 * (detoast, hex, decode) per search was most of a search's CPU (~50 µs per vector on the 2-core
 * machine). Candidates now come back as (id, row version) and only vectors missing here are
 * fetched. The row version is the row's xmin, which every UPDATE changes (an edit, a reindex),
 * so a cached vector is never used for another version of its row: results do not depend on
 * what is cached, only the speed does. Bounded in bytes, least recently used first out; each
 * process has its own (no state that correctness depends on).
 */
import type { Client } from '../store/db.ts';
import { vectorsOf } from '../store/memories.ts';
import { decodeVector, type SparseVector } from '../vectorize/index.ts';

/** Per entry beyond the two typed arrays: the key, the Map slot, the objects. */
const ENTRY_OVERHEAD_BYTES = 200;

export class VectorCache {
  readonly maxBytes: number;
  #bytes = 0;
  readonly #entries = new Map<string, { version: string; vector: SparseVector; bytes: number }>();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get(id: string, version: string): SparseVector | undefined {
    const entry = this.#entries.get(id);
    if (!entry || entry.version !== version) return undefined;
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return entry.vector;
  }

  set(id: string, version: string, vector: SparseVector): void {
    const bytes = vector.indices.byteLength + vector.values.byteLength + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.maxBytes) return;
    const old = this.#entries.get(id);
    if (old) {
      this.#bytes -= old.bytes;
      this.#entries.delete(id);
    }
    this.#entries.set(id, { version, vector, bytes });
    this.#bytes += bytes;
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(key);
      this.#bytes -= entry.bytes;
    }
  }
}

/**
 * The vectors of the candidates, from the cache or, for the rest, from the database in one
 * query. A candidate whose row is gone (forgotten meanwhile) is missing from the result.
 */
export async function loadVectors(
  client: Client,
  tenant: string,
  candidates: Iterable<{ id: string; version: string }>,
  cache: VectorCache | undefined,
): Promise<Map<string, SparseVector>> {
  const out = new Map<string, SparseVector>();
  const missing: string[] = [];
  for (const c of candidates) {
    const hit = cache?.get(c.id, c.version);
    if (hit) out.set(c.id, hit);
    else missing.push(c.id);
  }
  if (missing.length > 0) {
    for (const row of await vectorsOf(client, tenant, missing)) {
      const vector = decodeVector(row.vector);
      cache?.set(row.id, row.version, vector);
      out.set(row.id, vector);
    }
  }
  return out;
}

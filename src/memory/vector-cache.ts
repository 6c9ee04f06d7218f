/**
 * What ranking needs of a memory beyond its id — its hash vector (packed: packed-vector.ts),
 * session, creation time and content hash — kept in memory between searches, keyed by row
 * version.
 *
 * Ranking computes the cosine between the query and every candidate, and in a corpus of up to
 * RANKING.smallCorpus memories every memory is a candidate: fetching ~1,000 vectors of ~3.5 KB
 * (detoast, hex, decode) per search was most of a search's CPU (~50 µs per vector on the 2-core
 * machine, when vectors were stored at 8 bytes a bucket). Candidates come back as (id, row
 * version) and only entries missing here are fetched. The row version is the row's xmin, which every UPDATE changes (an edit, a reindex,
 * a forget), and everything kept here is a column of the row, so an entry is never used for
 * another version of its row: results do not depend on what is cached, only the speed does.
 * Bounded in bytes; each process has its own (no state that correctness depends on).
 *
 * Eviction is second chance (CLOCK), an approximation of least recently used: a hit only marks
 * its slot. Kept in exact LRU order, every hit moved its key to the end of the Map — a search in
 * a project ranked whole hits ~1,000 entries, and the deletions made V8 rebuild the Map's table
 * of ~7,000 entries every few searches (~170 KiB of the ~1.3 MiB a search over HTTP allocated,
 * sampled at 10,000 memories). Now slots move only when the cache is full.
 */
import type { Client } from '../store/db.ts';
import { rankingEntries, type CandidateRef } from '../store/ranking.ts';
import { decodeVector, type SparseVector } from '../vectorize/index.ts';
import { isEncoded, isPacked, isStoredPacked, pack, packedBytes, readPacked, type EncodedVector, type PackedVector } from './packed-vector.ts';

export interface RankingEntry {
  /**
   * Packed when the entry is cached (packed-vector.ts), plain when fetched for one search, still
   * encoded for a large corpus's candidates (used once each: packed-vector.ts, EncodedVector).
   */
  vector: PackedVector | SparseVector | EncodedVector;
  sessionId: string | null;
  /** created_at in epoch milliseconds. */
  createdAt: number;
  contentHash: Uint8Array;
}

/**
 * Per entry beyond the vector's buffer, the content hash and the session string: the key and
 * version strings, the Map slot, the entry and the typed-array views. Measured with
 * process.memoryUsage() (heap + array buffers, after gc) over 6,000 entries of the scale
 * benchmark's corpus: ~2,280 bytes per entry in all, 1,464 of them the packed vector (as plain
 * typed arrays, the same measurement gave 3,000–3,800).
 */
const ENTRY_OVERHEAD_BYTES = 760;

interface Slot {
  version: string;
  entry: RankingEntry;
  bytes: number;
  /** Read since the eviction scan last passed it (or since it was added). */
  used: boolean;
}

function vectorBytes(v: RankingEntry['vector']): number {
  if (isPacked(v)) return packedBytes(v);
  if (isEncoded(v)) return v.base64.length;
  return v.indices.byteLength + v.values.byteLength;
}

function sizeOf(entry: RankingEntry): number {
  return vectorBytes(entry.vector) + entry.contentHash.byteLength + 2 * (entry.sessionId?.length ?? 0) + ENTRY_OVERHEAD_BYTES;
}

export class VectorCache {
  readonly maxBytes: number;
  #bytes = 0;
  readonly #slots = new Map<string, Slot>();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#slots.size;
  }

  get(id: string, version: string): RankingEntry | undefined {
    const slot = this.#slots.get(id);
    if (!slot || slot.version !== version) return undefined;
    slot.used = true;
    return slot.entry;
  }

  set(id: string, version: string, entry: RankingEntry): void {
    const bytes = sizeOf(entry);
    if (bytes > this.maxBytes) return;
    const old = this.#slots.get(id);
    if (old) {
      this.#bytes -= old.bytes;
      this.#slots.delete(id);
    }
    this.#slots.set(id, { version, entry, bytes, used: false });
    this.#bytes += bytes;
    // Second chance: from the oldest insertion on, a slot read since the scan last passed it
    // moves to the end unmarked, and so does the one being added; the first other goes. Every
    // slot is reached within two rounds.
    for (const [key, slot] of this.#slots) {
      if (this.#bytes <= this.maxBytes) break;
      this.#slots.delete(key);
      if (slot.used || key === id) {
        slot.used = false;
        this.#slots.set(key, slot);
      } else {
        this.#bytes -= slot.bytes;
      }
    }
  }
}

/**
 * The entries of the candidates, from the cache or, for the rest, from the database in one
 * query; those fetched are kept only when `admit` is set. A candidate whose row is gone (forgotten meanwhile) is missing from the result; one
 * whose row changed meanwhile comes back as its current version.
 */
export async function loadEntries(
  client: Client,
  tenant: string,
  candidates: Iterable<CandidateRef>,
  cache: VectorCache | undefined,
  admit = true,
): Promise<Map<string, RankingEntry>> {
  const out = new Map<string, RankingEntry>();
  const missing: string[] = [];
  for (const c of candidates) {
    const hit = cache?.get(c.id, c.version);
    if (hit) out.set(c.id, hit);
    else missing.push(c.id);
  }
  if (missing.length > 0) {
    for (const row of await rankingEntries(client, tenant, missing)) {
      // The hash is copied out of the driver's Buffer, which may be a slice of a shared 8 KiB
      // pool that a cached entry would otherwise keep alive.
      // Stored packed, the entry's views cover a copy of the row's bytes (the driver's Buffer
      // may be a slice of a shared pool); rows written before the packed layout are packed here.
      const vector = isStoredPacked(row.vector) ? readPacked(row.vector, true) : admit && cache ? pack(decodeVector(row.vector)) : decodeVector(row.vector);
      const entry: RankingEntry = {
        vector,
        sessionId: row.session_id,
        createdAt: row.created_at.getTime(),
        contentHash: Uint8Array.from(row.content_hash),
      };
      if (admit) cache?.set(row.id, row.version, entry);
      out.set(row.id, entry);
    }
  }
  return out;
}

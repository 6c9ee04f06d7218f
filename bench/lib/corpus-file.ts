/**
 * The synthetic corpus as a file `sage import` reads: a Sage export (JSONL, format version 1),
 * cached under a name that carries the generator version, seed and size, beside a JSON file
 * with the known-answer queries and the extra turns for the save benchmark.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPORT_TYPE, EXPORT_VERSION } from '../../src/memory/transfer.ts';
import { DEFAULT_DIMENSION, vectorizerVersion } from '../../src/vectorize/index.ts';
import { SAGE_VERSION } from '../../src/version.ts';
import { Corpus, CORPUS_VERSION, Rng, type KnownQuery, type MemoryRecord } from './corpus.ts';

export interface CorpusFiles {
  jsonl: string;
  /** Queries to measure with, shuffled (deterministically) over the whole timeline. */
  queries: KnownQuery[];
  /** Queries for the warm-up, disjoint from `queries`. */
  warmup: KnownQuery[];
  /** Turns after the corpus, for saves. */
  extra: MemoryRecord[];
  generatedSeconds: number | null;
}

export interface CorpusFileOptions {
  dir: string;
  size: number;
  seed: number;
  queries: number;
  warmup: number;
  extra: number;
  tenant: string;
  log?: (message: string) => void;
}

/** Writes the corpus (or reuses the cached one) and returns its file and queries. */
export async function corpusFiles(o: CorpusFileOptions): Promise<CorpusFiles> {
  const base = join(o.dir, `corpus-v${CORPUS_VERSION}-seed${o.seed}-${o.size}`);
  const jsonl = `${base}.jsonl`;
  const meta = `${base}.meta.json`;
  const want = { queries: o.queries + o.warmup, extra: o.extra };
  if (existsSync(jsonl) && existsSync(meta)) {
    const cached = JSON.parse(readFileSync(meta, 'utf8')) as { want: typeof want; queries: KnownQuery[]; extra: MemoryRecord[] };
    if (cached.want.queries === want.queries && cached.want.extra === want.extra) {
      o.log?.(`${o.size}: reusing corpus ${jsonl}`);
      return { ...split(cached.queries, o), jsonl, extra: cached.extra, generatedSeconds: null };
    }
  }
  mkdirSync(o.dir, { recursive: true });
  o.log?.(`${o.size}: generating corpus → ${jsonl}`);
  const t0 = performance.now();
  const corpus = new Corpus({ size: o.size, queries: want.queries, extra: want.extra, seed: o.seed });
  const out = createWriteStream(`${jsonl}.part`);
  const header = {
    type: EXPORT_TYPE,
    version: EXPORT_VERSION,
    sage_version: SAGE_VERSION,
    vectorizer_version: vectorizerVersion({ dimension: DEFAULT_DIMENSION }),
    tenant: o.tenant,
    exported_at: '2025-07-01T00:00:00.000Z',
    project: null,
  };
  let chunk = `${JSON.stringify(header)}\n`;
  for (const record of corpus.records()) {
    chunk += `${JSON.stringify(record)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  renameSync(`${jsonl}.part`, jsonl);
  writeFileSync(meta, JSON.stringify({ want, queries: corpus.queries, extra: corpus.extra }));
  const seconds = (performance.now() - t0) / 1000;
  o.log?.(`${o.size}: corpus written in ${seconds.toFixed(1)}s`);
  return { ...split(corpus.queries, o), jsonl, extra: corpus.extra, generatedSeconds: seconds };
}

/** Queries come in corpus order; a seeded shuffle spreads warm-up and measurement over all of it. */
function split(all: readonly KnownQuery[], o: CorpusFileOptions): { queries: KnownQuery[]; warmup: KnownQuery[] } {
  const rng = new Rng(o.seed + 17);
  const shuffled = [...all];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return { warmup: shuffled.slice(0, o.warmup), queries: shuffled.slice(o.warmup) };
}

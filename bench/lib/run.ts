/**
 * One recall run: save every document of a data set through MemoryService.save (Sage's own
 * save path: cleaning, derivation, dedup), ask every query through MemoryService.search
 * (hybrid, limit 20, the corpus' project), ask the BM25 baseline the same queries, and score
 * both. Shared by `npm run bench:recall` and the Chinese recall test.
 */
import type { MemoryService } from '../../src/memory/service.ts';
import { Bm25Baseline, MIN_DOCUMENTS } from './bm25.ts';
import type { Corpus, Dataset } from './dataset.ts';
import { Mean, scoreQuery, type Ranking, type Scores } from './metrics.ts';

export const SEARCH_LIMIT = 20;
const TENANT = 'bench-recall';

export interface GroupReport {
  name: string;
  questions: number;
  sage: Scores;
  bm25: Scores;
}

export interface Report {
  questions: number;
  sage: Scores;
  bm25: Scores;
  by_category: Record<string, GroupReport>;
  memories: number;
  documents: number;
  /** Documents whose text was identical to an earlier one in the project (mapped to its memory). */
  collapsed: number;
  skipped_questions: number;
  search_ms: { p50: number; p95: number };
}

export interface QueryResult {
  project: string;
  query: string;
  group: string;
  relevant: string[];
  sage: string[][];
  bm25: string[][];
}

export interface RunOptions {
  /** Sage search strategy (hybrid by default: the protocol; others are for diagnosis). */
  strategy?: 'hybrid' | 'lexical' | 'vector';
  /** Parallel searches. Saves run one project at a time, in document order. */
  concurrency?: number;
  /** Called for every query with both rankings (for --dump). */
  onQuery?: (result: QueryResult) => void;
}

/** Saves a corpus; returns memory id → the keys it stands for, and how many collapsed. */
export async function ingest(service: MemoryService, corpus: Corpus): Promise<{ keysById: Map<string, string[]>; collapsed: number }> {
  const caller = { tenant: TENANT, project: corpus.project };
  const keysById = new Map<string, string[]>();
  let collapsed = 0;
  for (const doc of corpus.docs) {
    const saved = await service.save(caller, {
      kind: doc.kind,
      userText: doc.kind === 'turn' ? doc.userPrompt : undefined,
      content: doc.content,
      session: doc.session ?? undefined,
      metadata: doc.metadata,
      createdAt: doc.createdAt,
    });
    const keys = keysById.get(saved.id);
    if (keys) {
      keys.push(doc.key);
      collapsed++;
    } else keysById.set(saved.id, [doc.key]);
  }
  return { keysById, collapsed };
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 100) / 100;
}

export async function runRecall(service: MemoryService, dataset: Dataset, options: RunOptions = {}): Promise<Report> {
  const strategy = options.strategy ?? 'hybrid';
  const total = { sage: new Mean(), bm25: new Mean() };
  const groups = new Map(dataset.groups.map((g) => [g.key, { name: g.name, sage: new Mean(), bm25: new Mean() }]));
  const latencies: number[] = [];
  let memories = 0;
  let documents = 0;
  let collapsed = 0;

  for (const corpus of dataset.corpora) {
    const saved = await ingest(service, corpus);
    memories += saved.keysById.size;
    documents += corpus.docs.length;
    collapsed += saved.collapsed;
    const baseline = corpus.docs.length >= MIN_DOCUMENTS ? new Bm25Baseline(corpus.docs.map((d) => ({ id: d.key, text: d.baselineText }))) : undefined;
    const caller = { tenant: TENANT, project: corpus.project };

    await pool(corpus.queries, options.concurrency ?? 2, async (q) => {
      const started = performance.now();
      const page = await service.search(caller, { query: q.text, limit: SEARCH_LIMIT, strategy });
      latencies.push(performance.now() - started);
      const sage: Ranking = page.results.map((hit) => saved.keysById.get(hit.id) ?? []);
      const bm25: Ranking = (baseline?.search(q.text, SEARCH_LIMIT) ?? []).map((key) => [key]);
      const s = scoreQuery(sage, q.relevant);
      const b = scoreQuery(bm25, q.relevant);
      total.sage.add(s);
      total.bm25.add(b);
      const g = groups.get(q.group);
      g?.sage.add(s);
      g?.bm25.add(b);
      options.onQuery?.({ project: corpus.project, query: q.text, group: q.group, relevant: q.relevant, sage: sage.map((x) => [...x]), bm25: bm25.map((x) => [...x]) });
    });
  }

  const by_category: Record<string, GroupReport> = {};
  for (const [key, g] of groups) by_category[key] = { name: g.name, questions: g.sage.count, sage: g.sage.value(), bm25: g.bm25.value() };
  return {
    questions: total.sage.count,
    sage: total.sage.value(),
    bm25: total.bm25.value(),
    by_category,
    memories,
    documents,
    collapsed,
    skipped_questions: dataset.skippedQueries,
    search_ms: { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95) },
  };
}

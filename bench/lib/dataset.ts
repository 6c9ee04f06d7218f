/**
 * A recall data set in one shape, whatever file it came from: corpora (one Sage project each)
 * of documents to save, and queries whose relevant documents are known. LoCoMo files
 * (locomo.ts) and Sage's own recall sets (this file; test/fixtures/zh-recall.json) both load
 * into it, so the benchmark and the Chinese recall test share one ingest and one scoring path.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KindSchema, type Kind } from '../../src/memory/model.ts';

export interface Doc {
  /** The id relevance judgements use (a LoCoMo dia_id, a recall-set memory id). */
  key: string;
  kind: Kind;
  session: string | null;
  /** For a turn: the user's side ('' for none). */
  userPrompt: string;
  content: string;
  /** What the BM25 baseline indexes for this document. */
  baselineText: string;
  createdAt?: Date;
  metadata: Record<string, unknown>;
}

export interface Query {
  text: string;
  /** The group the query is reported under (a LoCoMo category, a recall-set query type). */
  group: string;
  /** Keys of the relevant documents; a key that names no document counts as missed. */
  relevant: string[];
}

export interface Corpus {
  project: string;
  docs: Doc[];
  queries: Query[];
}

export interface Dataset {
  format: 'locomo' | 'sage-recall';
  groups: ReadonlyArray<{ key: string; name: string }>;
  corpora: Corpus[];
  /** Queries left out because they have no relevant document at all. */
  skippedQueries: number;
}

/**
 * Sage's own recall-set format: one project of memories and queries with known answers.
 * `type` says what a query tests (keyword, paraphrase, typo, partial identifier ...).
 */
export const RecallSetSchema = z.object({
  format: z.literal('sage-recall/1'),
  description: z.string().optional(),
  project: z.string().min(1),
  memories: z
    .array(
      z.object({
        id: z.string().min(1),
        kind: KindSchema.default('turn'),
        user_prompt: z.string().optional(),
        content: z.string().min(1),
        session: z.string().optional(),
        created_at: z.iso.datetime({ offset: true }).optional(),
      }),
    )
    .min(1),
  queries: z
    .array(
      z.object({
        query: z.string().min(1),
        relevant: z.array(z.string().min(1)).min(1),
        type: z.string().min(1),
      }),
    )
    .min(1),
});
export type RecallSet = z.infer<typeof RecallSetSchema>;

export function isRecallSet(json: unknown): boolean {
  return typeof json === 'object' && json !== null && !Array.isArray(json) && (json as { format?: unknown }).format === 'sage-recall/1';
}

export function loadRecallSet(json: unknown): Dataset {
  const parsed = RecallSetSchema.safeParse(json);
  if (!parsed.success) throw new Error(`not a sage-recall/1 file: ${z.prettifyError(parsed.error)}`);
  const set = parsed.data;
  const ids = new Set<string>();
  for (const m of set.memories) {
    if (ids.has(m.id)) throw new Error(`recall set: memory id ${m.id} appears twice`);
    ids.add(m.id);
  }
  for (const q of set.queries) {
    const unknown = q.relevant.filter((id) => !ids.has(id));
    if (unknown.length > 0) throw new Error(`recall set: query ${JSON.stringify(q.query)} names unknown memories ${unknown.join(', ')}`);
  }
  const docs: Doc[] = set.memories.map((m) => {
    const userPrompt = m.kind === 'turn' ? (m.user_prompt ?? '') : '';
    const doc: Doc = {
      key: m.id,
      kind: m.kind,
      session: m.session ?? null,
      userPrompt,
      content: m.content,
      baselineText: userPrompt ? `${userPrompt}\n${m.content}` : m.content,
      metadata: { recall_id: m.id },
    };
    if (m.created_at) doc.createdAt = new Date(m.created_at);
    return doc;
  });
  const types = [...new Set(set.queries.map((q) => q.type))];
  return {
    format: 'sage-recall',
    groups: types.map((t) => ({ key: t, name: t })),
    corpora: [{ project: set.project, docs, queries: set.queries.map((q) => ({ text: q.query, group: q.type, relevant: q.relevant })) }],
    skippedQueries: 0,
  };
}

export function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8')) as unknown;
}

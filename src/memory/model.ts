/**
 * The shapes Sage's memory exchanges with the world, as schemas. Types are derived from them,
 * the MCP tools publish them as output schemas, and export/import reads and writes them, so
 * one definition serves every face.
 */
import * as z from 'zod';

export const KINDS = ['turn', 'note', 'fact', 'agent_report'] as const;
export const KindSchema = z.enum(KINDS);
export type Kind = z.infer<typeof KindSchema>;

export const MemorySchema = z.object({
  id: z.string().describe('Memory id (UUID)'),
  project: z.string(),
  session: z.string().nullable(),
  kind: KindSchema,
  user_prompt: z.string().nullable().describe("For a turn: the user's prompt. Null for notes and facts."),
  content: z.string().describe("For a turn: the assistant's response. Otherwise the note or fact."),
  tags: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.string().describe('ISO 8601'),
  updated_at: z.string().describe('ISO 8601'),
});
export type Memory = z.infer<typeof MemorySchema>;

export const SessionSchema = z.object({
  id: z.string(),
  project: z.string(),
  title: z.string().nullable(),
  created_at: z.string(),
  last_active: z.string(),
  memory_count: z.number().int(),
});
export type Session = z.infer<typeof SessionSchema>;

export const WhySchema = z.object({
  lexical_rank: z.number().int().nullable().describe('Rank in full-text search (1 = best), null if not matched'),
  vector_rank: z.number().int().nullable().describe('Rank by hash-vector similarity (1 = best), null if not a candidate'),
  recency_rank: z.number().int().nullable().describe('Rank by age among the candidates (1 = newest)'),
  lexical_score: z.number().nullable(),
  vector_similarity: z.number().nullable().describe('Cosine similarity of hash vectors, 0..1'),
});
export type Why = z.infer<typeof WhySchema>;

export const SearchHitSchema = MemorySchema.extend({
  score: z.number().describe('Fused score; higher is better. Comparable only within one search.'),
  why: WhySchema,
  truncated: z
    .boolean()
    .optional()
    .describe('True when a text was cut to keep the page small; the cut text says how much is left, and the resource sage://memory/{id} holds the whole memory.'),
});
export type SearchHit = z.infer<typeof SearchHitSchema>;

export const NearDuplicateSchema = z.object({ id: z.string(), similarity: z.number() });
export type NearDuplicate = z.infer<typeof NearDuplicateSchema>;

export const SaveResultSchema = z.object({
  id: z.string(),
  duplicate: z.boolean().describe('True when identical content already existed in this project: its id is returned and nothing new is stored'),
  near_duplicates: z.array(NearDuplicateSchema).describe('Existing memories that are very similar (reported, not merged)'),
  project: z.string(),
  session: z.string().nullable(),
  created_at: z.string(),
  warnings: z.array(z.string()),
});
export type SaveResult = z.infer<typeof SaveResultSchema>;

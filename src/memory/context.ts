/**
 * Packs the most relevant memories into one block of at most `budget` characters, for a
 * prompt. Near-identical memories are folded into one entry (with a count) so that a fact
 * repeated across sessions does not eat the budget several times.
 */
import { cosine } from '../vectorize/index.ts';
import type { Memory } from './model.ts';
import type { Ranked } from './search.ts';
import { cutAt } from './text.ts';

/** Memories at least this similar are shown once. */
export const FOLD_SIMILARITY = 0.9;
/**
 * A context block is injected into prompts unasked, so unlike search (which always returns
 * its best matches) it leaves out memories that share no word with the query and whose
 * vector similarity is at the level of chance n-gram overlap (measured: unrelated texts score
 * 0.00–0.03, a misspelt key word 0.08–0.2).
 */
export const CONTEXT_MIN_SIMILARITY = 0.06;

export function isRelevant(r: Ranked): boolean {
  return r.why.lexical_rank !== null || (r.why.vector_similarity ?? 0) >= CONTEXT_MIN_SIMILARITY;
}
const MIN_ENTRY_CHARS = 120;

export interface ContextEntry {
  memory: Memory;
  ranked: Ranked;
  folded: string[];
}

export function foldNearDuplicates(items: ReadonlyArray<{ memory: Memory; ranked: Ranked }>): ContextEntry[] {
  const entries: ContextEntry[] = [];
  for (const item of items) {
    const twin = entries.find(
      (e) => Buffer.compare(Buffer.from(e.ranked.contentHash), Buffer.from(item.ranked.contentHash)) === 0 || cosine(e.ranked.vector, item.ranked.vector) >= FOLD_SIMILARITY,
    );
    if (twin) twin.folded.push(item.memory.id);
    else entries.push({ ...item, folded: [] });
  }
  return entries;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return text.slice(0, cutAt(text, max - 1)).trimEnd() + '…';
}

function body(m: Memory): string {
  if (m.kind === 'turn') {
    const user = m.user_prompt ? `User: ${oneLine(m.user_prompt)} ` : '';
    return `${user}Assistant: ${oneLine(m.content)}`;
  }
  return oneLine(m.content);
}

export interface PackedContext {
  text: string;
  ids: string[];
  folded: number;
  truncated: boolean;
}

export function packContext(entries: readonly ContextEntry[], budget: number, heading: string): PackedContext {
  const header = `${heading}\n`;
  if (entries.length === 0 || budget <= header.length + MIN_ENTRY_CHARS / 2) return { text: '', ids: [], folded: 0, truncated: entries.length > 0 };
  let text = header;
  const ids: string[] = [];
  let folded = 0;
  let truncated = false;
  for (const e of entries) {
    const m = e.memory;
    const tags = m.tags.length ? ` #${m.tags.join(' #')}` : '';
    const times = e.folded.length ? ` (×${e.folded.length + 1})` : '';
    const prefix = `- [${m.created_at.slice(0, 10)} ${m.kind}${times}${tags}] `;
    const room = budget - text.length - prefix.length - 1;
    if (room < MIN_ENTRY_CHARS && ids.length > 0) {
      truncated = true;
      break;
    }
    const full = body(m);
    const line = clip(full, Math.max(room, 0));
    if (line.length < full.length) truncated = true;
    if (line.length === 0) break;
    text += `${prefix}${line}\n`;
    ids.push(m.id);
    folded += e.folded.length;
  }
  return { text: text.trimEnd(), ids, folded, truncated };
}

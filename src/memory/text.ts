/**
 * Validation and cleaning of text at the edge of the memory. PostgreSQL text cannot hold
 * U+0000 and UTF-8 cannot encode a lone surrogate; both are replaced by U+FFFD (and reported)
 * rather than rejected, because they usually arrive inside otherwise valuable pasted output.
 */
import { InputError } from '../errors.ts';

/** Per field. Large enough for a long answer with code; bigger texts should be split. */
export const MAX_TEXT_CHARS = 200_000;
export const MAX_TAGS = 32;
export const MAX_TAG_CHARS = 64;
export const MAX_METADATA_BYTES = 16_384;

export interface Cleaned {
  text: string;
  warnings: string[];
}

export function cleanText(field: string, value: string): Cleaned {
  const warnings: string[] = [];
  if (value.length > MAX_TEXT_CHARS) {
    throw new InputError(`${field} has ${value.length} characters; the limit is ${MAX_TEXT_CHARS}. Split it into several memories or summarise it.`);
  }
  let text = value;
  if (!text.isWellFormed()) {
    text = text.toWellFormed();
    warnings.push(`${field}: lone surrogate code units were replaced by U+FFFD`);
  }
  if (text.includes('\u0000')) {
    text = text.replaceAll('\u0000', '\uFFFD');
    warnings.push(`${field}: NUL characters (U+0000) were replaced by U+FFFD`);
  }
  return { text, warnings };
}

export function isBlank(text: string | null | undefined): boolean {
  return !text || text.trim().length === 0;
}

/** Tags: trimmed, case-folded, deduplicated, order kept. */
export function cleanTags(tags: readonly string[] | undefined): string[] {
  if (!tags) return [];
  const out: string[] = [];
  for (const raw of tags) {
    const tag = cleanText('tag', raw).text.normalize('NFKC').trim().toLowerCase();
    if (tag.length === 0) throw new InputError('tags must not be empty strings');
    if (tag.length > MAX_TAG_CHARS) throw new InputError(`tag "${tag.slice(0, 20)}…" is longer than ${MAX_TAG_CHARS} characters`);
    if (!out.includes(tag)) out.push(tag);
  }
  if (out.length > MAX_TAGS) throw new InputError(`at most ${MAX_TAGS} tags per memory (got ${out.length})`);
  return out;
}

/** Metadata must be a small JSON object; strings in it are cleaned like text. */
export function cleanMetadata(metadata: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!metadata) return {};
  const json = JSON.stringify(metadata, (_key, value: unknown) => (typeof value === 'string' ? cleanText('metadata', value).text : value));
  if (Buffer.byteLength(json, 'utf8') > MAX_METADATA_BYTES) {
    throw new InputError(`metadata is larger than ${MAX_METADATA_BYTES} bytes as JSON; keep it to small facts (ids, paths, labels)`);
  }
  return JSON.parse(json) as Record<string, unknown>;
}

/** Session and project names: short, printable. */
export function cleanName(field: string, value: string): string {
  const name = value.normalize('NFKC').trim();
  if (name.length === 0) throw new InputError(`${field} must not be empty`);
  if (name.length > 200) throw new InputError(`${field} must be at most 200 characters`);
  if (/[\u0000-\u001f\u007f]/.test(name) || !name.isWellFormed()) throw new InputError(`${field} must not contain control characters`);
  return name;
}

/**
 * Where to cut `text` at most at `index` without splitting a UTF-16 surrogate pair: a lone half
 * has no UTF-8 form and would be stored, sent or shown as U+FFFD.
 */
export function cutAt(text: string, index: number): number {
  if (index <= 0) return 0;
  if (index >= text.length) return text.length;
  const code = text.charCodeAt(index - 1);
  return code >= 0xd800 && code <= 0xdbff ? index - 1 : index;
}

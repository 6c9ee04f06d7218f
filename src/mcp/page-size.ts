/**
 * How much memory text a page of results may carry. Claude Code keeps a successful tool result
 * of more than 50,000 characters out of the conversation (it is written to a file that the model
 * must then read) and warns above 10,000 tokens, while a captured turn runs to 60,000 characters
 * (claude/render.ts) and a search page may hold 50 of them. So, best first, a memory keeps its
 * texts whole while the page's texts fit PAGE_TEXT_CHARS, no text keeps more than FIELD_CHARS, and
 * once the page is full the rest keep SNIPPET_CHARS. A cut text ends by saying how much is left
 * and where the whole memory is: the resource sage://memory/{id}, which clients read like any
 * other (Claude Code gives the model a tool for it).
 */
import { cutAt } from '../memory/text.ts';

export const PAGE_TEXT_CHARS = 20_000;
export const FIELD_CHARS = 6_000;
export const SNIPPET_CHARS = 120;

export const memoryUri = (id: string) => `sage://memory/${id}`;

interface Texts {
  id: string;
  user_prompt: string | null;
  content: string;
}

/** `text` cut to `keep` characters (never between the halves of a surrogate pair), with the note. */
function cut(text: string, keep: number, id: string): string {
  const end = cutAt(text, keep);
  return `${text.slice(0, end)}… [cut: ${text.length - end} more characters; the whole memory is ${memoryUri(id)}]`;
}

/** The memories of a page, best first, with their texts fitted as above and `truncated` set where cut. */
export function fitPage<M extends Texts>(memories: readonly M[]): Array<M & { truncated?: boolean }> {
  let room = PAGE_TEXT_CHARS;
  return memories.map((memory) => {
    let truncated = false;
    const fit = (text: string): string => {
      const keep = Math.max(SNIPPET_CHARS, Math.min(FIELD_CHARS, room));
      if (text.length <= keep) {
        room -= text.length;
        return text;
      }
      truncated = true;
      room -= keep;
      return cut(text, keep, memory.id);
    };
    const content = fit(memory.content);
    const userPrompt = memory.user_prompt === null ? null : fit(memory.user_prompt);
    return truncated ? { ...memory, content, user_prompt: userPrompt, truncated } : memory;
  });
}

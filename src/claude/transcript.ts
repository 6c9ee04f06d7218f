/**
 * Claude Code transcripts (`~/.claude/projects/<project-slug>/<session-id>.jsonl`): parsing,
 * and grouping into turns — one user prompt and everything the assistant did about it.
 *
 * The format is Claude Code's internal one (documented by example, not by a spec), so parsing
 * is tolerant: every line is one JSON object tagged by `type`; only `user` and `assistant`
 * lines carry the conversation (`message` in the Anthropic Messages shape, content a string
 * or an array of text / thinking / tool_use / tool_result / image blocks); everything else
 * (summary, system, file-history-snapshot, attachment, …) is bookkeeping and skipped, as are
 * lines that are not JSON or lack the fields we need. Nothing here throws on bad input.
 *
 * What counts:
 *  - A turn starts at a user line that carries the user's own words. Lines that are tool
 *    results, meta lines (`isMeta`: caveats, injected reminders), compaction summaries
 *    (`isCompactSummary`), slash-command envelopes (`<command-name>`, `<local-command-stdout>`)
 *    and interruption notices are not prompts.
 *  - Assistant text blocks are kept in order; tool_use blocks become tool calls, paired with
 *    their tool_result (which arrives later on a user line) by tool_use_id.
 *  - Thinking blocks are counted, never kept: they are the model's scratch work, long, and
 *    sometimes opaque (redacted_thinking); the answer and the tool calls carry the substance.
 *  - Sidechain lines (`isSidechain: true`: a subagent's own conversation, inline in older
 *    transcripts, in `subagents/` files in newer ones) are skipped. What the subagent
 *    concluded reaches the main chain as the result of its Task/Agent tool call, and that
 *    result is kept (capture stores it as an agent_report).
 */

/** Content block, as far as we read it. */
interface Block {
  type?: unknown;
  text?: unknown;
  id?: unknown;
  name?: unknown;
  input?: unknown;
  tool_use_id?: unknown;
  content?: unknown;
  is_error?: unknown;
}

/** One parsed user/assistant line. */
export interface Entry {
  /** 0-based line number in the transcript (stable: transcripts are append-only). */
  line: number;
  type: 'user' | 'assistant';
  uuid: string;
  timestamp: string | null;
  sessionId: string | null;
  cwd: string | null;
  gitBranch: string | null;
  isSidechain: boolean;
  isMeta: boolean;
  isCompactSummary: boolean;
  content: string | Block[];
}

export interface ParsedTranscript {
  entries: Entry[];
  /** Number of lines in the text (including bookkeeping and bad lines). */
  lines: number;
  /** Lines that were not JSON objects. */
  invalid: number;
  /** The `summary` line's text, when there is one (Claude Code's session title). */
  title: string | null;
}

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
  /** Line of the tool_use block. */
  line: number;
  result: { text: string; isError: boolean; line: number } | null;
}

export type Part = { kind: 'text'; text: string; line: number } | { kind: 'tool'; call: ToolCall; line: number };

export interface Turn {
  /** uuid and line of the user line that opened the turn. */
  promptUuid: string;
  promptLine: number;
  prompt: string;
  /** The prompt's timestamp (ISO 8601), when the transcript has one. */
  startedAt: string | null;
  parts: Part[];
  /** Line and uuid of the last entry that belongs to the turn. */
  lastLine: number;
  lastUuid: string;
  thinkingBlocks: number;
  sessionId: string | null;
  cwd: string | null;
  gitBranch: string | null;
}

const MAX_LINE_CHARS = 64 * 1024 * 1024;

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function parseLine(raw: string, line: number): Entry | 'bookkeeping' | 'invalid' | { title: string } {
  if (raw.length > MAX_LINE_CHARS) return 'invalid';
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return 'invalid';
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'invalid';
  const o = value as Record<string, unknown>;
  if (o.type === 'summary' && typeof o.summary === 'string') return { title: o.summary };
  if (o.type !== 'user' && o.type !== 'assistant') return 'bookkeeping';
  const uuid = str(o.uuid);
  const message = o.message;
  if (!uuid || !message || typeof message !== 'object') return 'bookkeeping';
  const content = (message as { content?: unknown }).content;
  let blocks: string | Block[];
  if (typeof content === 'string') blocks = content;
  else if (Array.isArray(content)) blocks = content.filter((b): b is Block => !!b && typeof b === 'object');
  else return 'bookkeeping';
  return {
    line,
    type: o.type,
    uuid,
    timestamp: str(o.timestamp),
    sessionId: str(o.sessionId),
    cwd: str(o.cwd),
    gitBranch: str(o.gitBranch),
    isSidechain: o.isSidechain === true,
    isMeta: o.isMeta === true,
    isCompactSummary: o.isCompactSummary === true,
    content: blocks,
  };
}

/** Parses text[start…] whose first line is line number `firstLine`. */
function parseRange(text: string, start: number, firstLine: number): ParsedTranscript {
  const out: ParsedTranscript = { entries: [], lines: 0, invalid: 0, title: null };
  let line = firstLine;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const raw = text.slice(start, end).trim();
    if (raw.length > 0) {
      const parsed = parseLine(raw, line);
      if (parsed === 'invalid') out.invalid++;
      else if (parsed === 'bookkeeping') {
        // skipped on purpose
      } else if ('title' in parsed) out.title ??= parsed.title;
      else out.entries.push(parsed);
    }
    line++;
    start = end + 1;
  }
  out.lines = line;
  return out;
}

/** Parses a whole transcript. Tolerant: bad lines are counted, never fatal. */
export function parseTranscript(text: string): ParsedTranscript {
  return parseRange(text, 0, 0);
}

/**
 * Parses only what a capture after a cursor needs: from the prompt of the turn that contains
 * the entry `uuid` to the end. The turns before it were captured already, and reading them
 * again is the cost that grows with a session: a long session's transcript is tens of
 * megabytes and the stop hook runs after every response. Falls back to the whole transcript
 * when the entry is not found (`found: false`). Line numbers stay those of the whole file.
 */
export function parseTranscriptFrom(text: string, uuid: string): { transcript: ParsedTranscript; found: boolean } {
  // Claude Code writes compact JSON, so the entry's own id appears exactly like this (a
  // parentUuid reads `"parentUuid":"…"` and does not match).
  const at = text.indexOf(`"uuid":${JSON.stringify(uuid)}`);
  if (at === -1) return { transcript: parseTranscript(text), found: false };
  let lineStart = text.lastIndexOf('\n', at) + 1;
  // Walk back to the line that opened the turn: a prompt. Only user lines can be one, so the
  // other (often large) lines are not parsed.
  for (;;) {
    const lineEnd = text.indexOf('\n', lineStart);
    const raw = text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd);
    if (raw.includes('"type":"user"')) {
      const parsed = parseLine(raw.trim(), 0);
      if (typeof parsed === 'object' && !('title' in parsed) && promptText(parsed) !== null) break;
    }
    if (lineStart === 0) break;
    lineStart = lineStart >= 2 ? text.lastIndexOf('\n', lineStart - 2) + 1 : 0;
  }
  let firstLine = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < lineStart; i = text.indexOf('\n', i + 1)) firstLine++;
  const transcript = parseRange(text, lineStart, firstLine);
  return { transcript, found: transcript.entries.some((e) => e.uuid === uuid) };
}

/** The working directory recorded in a transcript (its first entry that has one), read cheaply. */
export function transcriptCwd(text: string): string | null {
  let start = 0;
  for (let line = 0; line < 200 && start < text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const raw = text.slice(start, end).trim();
    if (raw.includes('"cwd"')) {
      const parsed = parseLine(raw, line);
      if (typeof parsed === 'object' && !('title' in parsed) && parsed.cwd) return parsed.cwd;
    }
    start = end + 1;
  }
  return null;
}

/** Text of a string-or-blocks content, images as "[image]"; tool blocks are not text. */
function plainText(content: string | Block[]): string {
  if (typeof content === 'string') return content;
  const parts: string[] = [];
  for (const b of content) {
    if (b.type === 'text' && typeof b.text === 'string') parts.push(b.text);
    else if (b.type === 'image') parts.push('[image]');
    else if (b.type === 'document') parts.push('[document]');
  }
  return parts.join('\n');
}

/** Envelopes Claude Code writes for slash commands and local command output: not prompts. */
const COMMAND_ENVELOPE = /^\s*<(command-name|command-message|command-args|local-command-stdout|local-command-stderr|local-command-caveat|bash-input|bash-stdout|bash-stderr)>/;
/** Notices Claude Code writes on the user's side when a turn is interrupted. */
const INTERRUPTION = /^\s*\[Request interrupted by user[^\]]*\]\s*$/;

/** The user's own words on a user line, or null when the line is not a prompt. */
export function promptText(entry: Entry): string | null {
  if (entry.type !== 'user' || entry.isMeta || entry.isCompactSummary || entry.isSidechain) return null;
  if (Array.isArray(entry.content) && entry.content.some((b) => b.type === 'tool_result')) return null;
  const text = plainText(entry.content).trim();
  if (text.length === 0 || COMMAND_ENVELOPE.test(text) || INTERRUPTION.test(text)) return null;
  return text;
}

/** The text of a tool_result's content (a string or text/image blocks). */
function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return plainText(content.filter((b): b is Block => !!b && typeof b === 'object'));
  return '';
}

/**
 * Groups the main chain into turns, in file order. Lines before the first prompt (a resumed
 * session's tail, bookkeeping) belong to no turn and are ignored.
 */
export function buildTurns(entries: readonly Entry[]): Turn[] {
  const turns: Turn[] = [];
  const calls = new Map<string, ToolCall>();
  let current: Turn | undefined;
  for (const entry of entries) {
    if (entry.isSidechain) continue;
    const prompt = promptText(entry);
    if (prompt !== null) {
      current = {
        promptUuid: entry.uuid,
        promptLine: entry.line,
        prompt,
        startedAt: entry.timestamp,
        parts: [],
        lastLine: entry.line,
        lastUuid: entry.uuid,
        thinkingBlocks: 0,
        sessionId: entry.sessionId,
        cwd: entry.cwd,
        gitBranch: entry.gitBranch,
      };
      turns.push(current);
      continue;
    }
    if (!current) continue;
    if (entry.type === 'assistant') {
      const blocks = typeof entry.content === 'string' ? [{ type: 'text', text: entry.content }] : entry.content;
      for (const b of blocks) {
        if (b.type === 'text' && typeof b.text === 'string' && b.text.trim().length > 0) {
          current.parts.push({ kind: 'text', text: b.text, line: entry.line });
        } else if (b.type === 'thinking' || b.type === 'redacted_thinking') {
          current.thinkingBlocks++;
        } else if (b.type === 'tool_use' && typeof b.id === 'string') {
          const call: ToolCall = { id: b.id, name: typeof b.name === 'string' ? b.name : 'tool', input: b.input ?? {}, line: entry.line, result: null };
          calls.set(call.id, call);
          current.parts.push({ kind: 'tool', call, line: entry.line });
        }
      }
    } else if (Array.isArray(entry.content)) {
      for (const b of entry.content) {
        if (b.type !== 'tool_result' || typeof b.tool_use_id !== 'string') continue;
        const call = calls.get(b.tool_use_id);
        if (call && !call.result) call.result = { text: resultText(b.content), isError: b.is_error === true, line: entry.line };
      }
    }
    // Meta lines, command envelopes and interruptions inside a turn are part of it (so a
    // cursor placed on them is found) but add nothing to say.
    current.lastLine = entry.line;
    current.lastUuid = entry.uuid;
  }
  return turns;
}

/** Tools whose result is a subagent's report. */
export const SUBAGENT_TOOLS: ReadonlySet<string> = new Set(['Task', 'Agent']);

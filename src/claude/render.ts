/**
 * Turns a transcript turn into the texts Sage stores: the user's prompt, and a response made
 * of the assistant's text and its tool calls (a readable one-line summary of each input, and
 * the output), in the order they happened.
 *
 * Everything is bounded, because one `cat` of a log file can be megabytes: tool inputs and
 * outputs are cut (outputs keep their head and tail — errors are usually at the end), and a
 * turn that is still too long gives up tool-output detail before the assistant's own words.
 * Cuts never split a UTF-16 surrogate pair, so no character is broken in the stored UTF-8.
 * Rendering is deterministic: the same turn always gives the same text, which is what makes
 * a second capture of it an exact duplicate that the store ignores.
 */
import { cutAt } from '../memory/text.ts';
import { SUBAGENT_TOOLS, type ToolCall, type Turn } from './transcript.ts';

export const LIMITS = {
  prompt: 20_000,
  text: 40_000,
  toolInput: 1_200,
  toolOutput: 2_000,
  /** Tool outputs are cut to this when the whole turn is over `turn`. */
  toolOutputSqueezed: 300,
  turn: 60_000,
  agentReport: 30_000,
  maxToolNames: 20,
} as const;

/** Keeps the head; says how much was left out. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `…[${text.length - max} more characters]`;
  return text.slice(0, cutAt(text, Math.max(0, max - note.length))) + note;
}

/** Keeps the head and the tail (70/30); says how much was left out in the middle. */
export function truncateMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `\n…[${text.length - max} characters omitted]…\n`;
  const room = Math.max(0, max - note.length);
  const head = cutAt(text, Math.floor(room * 0.7));
  let tailStart = text.length - (room - head);
  // Do not start the tail on the low half of a surrogate pair.
  const code = text.charCodeAt(tailStart);
  if (code >= 0xdc00 && code <= 0xdfff) tailStart++;
  return text.slice(0, head) + note + text.slice(tailStart);
}

function field(input: unknown, name: string): string | undefined {
  if (!input || typeof input !== 'object') return undefined;
  const v = (input as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function compactJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}

/** A readable summary of a tool call's input, for the tools Claude Code ships; JSON otherwise. */
export function describeInput(name: string, input: unknown): string {
  const path = field(input, 'file_path') ?? field(input, 'notebook_path') ?? field(input, 'path');
  let text: string | undefined;
  switch (name) {
    case 'Bash':
      text = field(input, 'command') !== undefined ? `$ ${field(input, 'command')}` : undefined;
      break;
    case 'Read': {
      const range = field(input, 'offset') !== undefined ? ` (from line ${field(input, 'offset')}${field(input, 'limit') ? `, ${field(input, 'limit')} lines` : ''})` : '';
      text = path !== undefined ? `${path}${range}` : undefined;
      break;
    }
    case 'Write':
      text = path !== undefined ? `${path}\n${field(input, 'content') ?? ''}` : undefined;
      break;
    case 'Edit':
      text = path !== undefined ? `${path}\n- ${field(input, 'old_string') ?? ''}\n+ ${field(input, 'new_string') ?? ''}` : undefined;
      break;
    case 'MultiEdit': {
      const edits = (input as { edits?: unknown }).edits;
      const list = Array.isArray(edits) ? edits.map((e) => `- ${field(e, 'old_string') ?? ''}\n+ ${field(e, 'new_string') ?? ''}`).join('\n') : '';
      text = path !== undefined ? `${path}\n${list}` : undefined;
      break;
    }
    case 'Glob':
    case 'Grep': {
      const pattern = field(input, 'pattern');
      text = pattern !== undefined ? `${pattern}${path ? ` in ${path}` : ''}${field(input, 'glob') ? ` (${field(input, 'glob')})` : ''}` : undefined;
      break;
    }
    case 'WebFetch':
      text = field(input, 'url');
      break;
    case 'WebSearch':
      text = field(input, 'query');
      break;
    case 'TodoWrite': {
      const todos = (input as { todos?: unknown }).todos;
      text = Array.isArray(todos) ? todos.map((t) => `- [${field(t, 'status') ?? '?'}] ${field(t, 'content') ?? ''}`).join('\n') : undefined;
      break;
    }
    default:
      break;
  }
  return truncate(text ?? compactJson(input), LIMITS.toolInput);
}

export interface AgentReport {
  toolUseId: string;
  subagentType: string | null;
  description: string | null;
  content: string;
  isError: boolean;
}

export interface RenderedTurn {
  userText: string;
  content: string;
  tools: string[];
  agentReports: AgentReport[];
}

function renderCall(call: ToolCall, outputMax: number): string {
  if (SUBAGENT_TOOLS.has(call.name)) {
    const type = field(call.input, 'subagent_type') ?? 'general-purpose';
    const head = `[subagent ${type}] ${truncate(field(call.input, 'description') ?? field(call.input, 'prompt') ?? '', LIMITS.toolInput)}`;
    if (!call.result) return `${head}\n[no result]`;
    return `${head}\n[${call.result.isError ? 'error' : 'report'}] ${truncateMiddle(call.result.text.trim(), outputMax)}`;
  }
  const head = `[tool ${call.name}] ${describeInput(call.name, call.input)}`;
  if (!call.result) return `${head}\n[no result]`;
  const output = call.result.text.trim();
  return `${head}\n[${call.result.isError ? 'error' : 'result'}]${output ? ` ${truncateMiddle(output, outputMax)}` : ' (empty)'}`;
}

/**
 * Renders a turn, or only its parts after `afterLine` (a continuation: the same turn grew
 * after it was captured). Returns null when there is nothing to say.
 */
export function renderTurn(turn: Turn, afterLine = -1): RenderedTurn | null {
  const parts = turn.parts.filter((p) => p.line > afterLine);
  const continuation = afterLine >= 0;
  if (continuation && parts.length === 0) return null;
  const tools: string[] = [];
  const agentReports: AgentReport[] = [];
  for (const p of parts) {
    if (p.kind !== 'tool') continue;
    if (!tools.includes(p.call.name) && tools.length < LIMITS.maxToolNames) tools.push(p.call.name);
    if (SUBAGENT_TOOLS.has(p.call.name) && p.call.result && p.call.result.text.trim()) {
      agentReports.push({
        toolUseId: p.call.id,
        subagentType: field(p.call.input, 'subagent_type') ?? null,
        description: field(p.call.input, 'description') ?? null,
        content: truncateMiddle(p.call.result.text.trim(), LIMITS.agentReport),
        isError: p.call.result.isError,
      });
    }
  }
  const build = (outputMax: number) =>
    parts
      .map((p) => (p.kind === 'text' ? truncate(p.text.trim(), LIMITS.text) : renderCall(p.call, outputMax)))
      .filter((s) => s.length > 0)
      .join('\n\n');
  let content = build(LIMITS.toolOutput);
  if (content.length > LIMITS.turn) content = build(LIMITS.toolOutputSqueezed);
  content = truncateMiddle(content, LIMITS.turn);
  return { userText: truncate(turn.prompt, LIMITS.prompt), content, tools, agentReports };
}

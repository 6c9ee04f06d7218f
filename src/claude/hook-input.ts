/**
 * What Claude Code sends a hook on stdin: one JSON object with the common fields
 * (session_id, transcript_path, cwd, permission_mode, hook_event_name) and the event's own
 * (prompt for UserPromptSubmit, stop_hook_active for Stop, reason for SessionEnd). Unknown
 * fields are ignored, so newer Claude Code versions keep working.
 *
 * For Sage in a container the transcript (a host file) cannot be opened by path, so the hook
 * command streams it after the JSON object: `sage hook stop --transcript-stdin` reads the
 * first JSON value, then the rest of stdin is the transcript. The JSON may span lines.
 */
import * as z from 'zod';
import { InputError } from '../errors.ts';

export const HookInputSchema = z.looseObject({
  session_id: z.string().trim().min(1, 'is empty').max(200, 'is longer than 200 characters'),
  transcript_path: z.string().optional(),
  cwd: z.string().optional(),
  hook_event_name: z.string().optional(),
  prompt: z.string().optional(),
  stop_hook_active: z.boolean().optional(),
  reason: z.string().optional(),
});
export type HookInput = z.infer<typeof HookInputSchema>;

/**
 * Splits off the first JSON value (an object) at the start of `text`; returns it and the
 * rest. String-aware, so braces inside strings do not count.
 */
export function splitFirstJson(text: string): { json: string; rest: string } {
  let i = 0;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  if (text[i] !== '{') throw new InputError('stdin does not start with a JSON object (the hook input Claude Code sends)');
  const start = i;
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */) depth++;
    else if (c === 0x7d /* } */) {
      depth--;
      if (depth === 0) return { json: text.slice(start, i + 1), rest: text.slice(i + 1) };
    }
  }
  throw new InputError('the hook JSON on stdin is incomplete');
}

export function parseHookInput(json: string): HookInput {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new InputError(`the hook input is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const parsed = HookInputSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`the hook input is not what Claude Code sends: ${issue ? `${issue.path.join('.') || 'input'} ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}

/** Reads the hook input and whatever follows it (a streamed transcript, or nothing). */
export function readHookStream(text: string): { input: HookInput; rest: string } {
  const { json, rest } = splitFirstJson(text);
  return { input: parseHookInput(json), rest };
}

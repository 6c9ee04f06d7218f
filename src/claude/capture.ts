/**
 * Capture: saves every turn of a Claude Code transcript that has not been captured yet, as
 * `turn` memories (prompt + rendered response) and, for subagent calls, `agent_report`
 * memories — in the session's project, under Claude's session id.
 *
 * Idempotence has two layers:
 *  1. A cursor per (tenant, source, session): the last transcript entry captured. Capture
 *     starts after it, and moves it after every turn, so running twice saves nothing twice
 *     and a memory the user forgot is not captured back. When a turn grew after it was
 *     captured (a Stop hook ran before the transcript was complete, or another hook made
 *     Claude continue), only the new part is saved, as a continuation of the same prompt.
 *  2. The store's exact-duplicate rule (one live memory per content in a project), together
 *     with deterministic rendering: if the cursor is lost or two captures race, saving a turn
 *     again returns the existing memory instead of a copy.
 *
 * Where the cursor and the memories live is the CaptureStore's business: PostgreSQL through
 * the memory service (local and Docker modes), or a remote Sage over MCP (HTTP mode).
 */
import type { Kind } from '../memory/model.ts';
import type { Caller, MemoryService } from '../memory/service.ts';
import { advanceCursor, getCursor } from '../store/cursors.ts';
import { renderTurn } from './render.ts';
import { buildTurns, parseTranscript, parseTranscriptFrom, type ParsedTranscript, type Turn } from './transcript.ts';

export const CAPTURE_SOURCE = 'claude-code';
export const CAPTURE_TAG = 'claude-code';

export interface Cursor {
  lastUuid: string;
  lastLine: number;
}

export interface CaptureSave {
  kind: Extract<Kind, 'turn' | 'agent_report'>;
  userText: string | null;
  content: string;
  session: string;
  project: string;
  tags: string[];
  metadata: Record<string, unknown>;
  createdAt: Date | undefined;
}

export interface CaptureStore {
  cursor(sessionId: string): Promise<Cursor | undefined>;
  advance(sessionId: string, to: Cursor, addTurns: number): Promise<void>;
  save(input: CaptureSave): Promise<{ duplicate: boolean }>;
}

export interface CaptureResult {
  sessionId: string;
  project: string;
  /** Turns (and continuations) saved as new memories. */
  turns: number;
  agentReports: number;
  /** Saves that found the same content already stored. */
  duplicates: number;
  /** Turns before the cursor, not looked at again. */
  alreadyCaptured: number;
  /** False when a cursor existed but its entry is not in this transcript (all turns were considered). */
  cursorFound: boolean | null;
}

function date(iso: string | null): Date | undefined {
  if (!iso) return undefined;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function turnMetadata(turn: Turn, sessionId: string, tools: string[], continuation: boolean): Record<string, unknown> {
  const meta: Record<string, unknown> = {
    source: CAPTURE_SOURCE,
    claude_session: sessionId,
    prompt_uuid: turn.promptUuid,
    last_uuid: turn.lastUuid,
  };
  if (turn.cwd) meta.cwd = turn.cwd;
  if (turn.gitBranch) meta.git_branch = turn.gitBranch;
  if (tools.length > 0) meta.tools = tools;
  if (turn.thinkingBlocks > 0) meta.thinking_blocks = turn.thinkingBlocks;
  if (continuation) meta.continuation = true;
  return meta;
}

/**
 * Captures what is new in a transcript for one session. Saves in transcript order and moves
 * the cursor after each turn, so a failure part-way keeps what was saved and the next run
 * resumes from there. Given the text, only the part from the cursor's turn on is parsed.
 */
export async function captureTranscript(store: CaptureStore, source: string | ParsedTranscript, options: { sessionId: string; project: string }): Promise<CaptureResult> {
  const { sessionId, project } = options;
  const result: CaptureResult = { sessionId, project, turns: 0, agentReports: 0, duplicates: 0, alreadyCaptured: 0, cursorFound: null };
  const cursor = await store.cursor(sessionId);
  let transcript: ParsedTranscript;
  if (typeof source !== 'string') transcript = source;
  else if (cursor) transcript = parseTranscriptFrom(source, cursor.lastUuid).transcript;
  else transcript = parseTranscript(source);
  let afterLine = -1;
  if (cursor) {
    const at = transcript.entries.find((e) => e.uuid === cursor.lastUuid);
    result.cursorFound = at !== undefined;
    if (at) afterLine = at.line;
  }
  for (const turn of buildTurns(transcript.entries)) {
    if (turn.lastLine <= afterLine) {
      result.alreadyCaptured++;
      continue;
    }
    const continuation = turn.promptLine <= afterLine;
    const rendered = renderTurn(turn, continuation ? afterLine : -1);
    let saved = 0;
    if (rendered) {
      const createdAt = date(turn.startedAt);
      const turnSave = await store.save({
        kind: 'turn',
        userText: rendered.userText,
        content: rendered.content,
        session: sessionId,
        project,
        tags: [CAPTURE_TAG],
        metadata: turnMetadata(turn, sessionId, rendered.tools, continuation),
        createdAt,
      });
      if (turnSave.duplicate) result.duplicates++;
      else {
        result.turns++;
        saved++;
      }
      for (const report of rendered.agentReports) {
        const head = `Subagent ${report.subagentType ?? 'general-purpose'}${report.description ? `: ${report.description}` : ''}${report.isError ? ' (failed)' : ''}`;
        const reportSave = await store.save({
          kind: 'agent_report',
          userText: null,
          content: `${head}\n\n${report.content}`,
          session: sessionId,
          project,
          tags: [CAPTURE_TAG, 'subagent'],
          metadata: {
            source: CAPTURE_SOURCE,
            claude_session: sessionId,
            prompt_uuid: turn.promptUuid,
            tool_use_id: report.toolUseId,
            ...(report.subagentType ? { subagent_type: report.subagentType } : {}),
          },
          createdAt,
        });
        if (reportSave.duplicate) result.duplicates++;
        else result.agentReports++;
      }
    }
    await store.advance(sessionId, { lastUuid: turn.lastUuid, lastLine: turn.lastLine }, saved);
  }
  return result;
}

/** The store for local and Docker modes: cursors and memories in PostgreSQL, through the service. */
export function serviceCaptureStore(service: MemoryService, caller: Omit<Caller, 'session'>): CaptureStore {
  return {
    cursor: (sessionId) => service.db.tx(caller.tenant, (client) => getCursor(client, caller.tenant, CAPTURE_SOURCE, sessionId), { readOnly: true }),
    advance: (sessionId, to, addTurns) =>
      service.db.tx(caller.tenant, (client) => advanceCursor(client, caller.tenant, CAPTURE_SOURCE, sessionId, { lastUuid: to.lastUuid, lastLine: to.lastLine, addTurns })),
    save: async (input) => {
      const saved = await service.save(caller, {
        kind: input.kind,
        userText: input.userText,
        content: input.content,
        session: input.session,
        project: input.project,
        tags: input.tags,
        metadata: input.metadata,
        createdAt: input.createdAt,
      });
      return { duplicate: saved.duplicate };
    },
  };
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { captureTranscript, serviceCaptureStore } from '../../src/claude/capture.ts';
import { parseTranscript } from '../../src/claude/transcript.ts';
import type { MemoryService } from '../../src/memory/service.ts';
import { serviceFixture } from '../helpers/service.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/claude');
const TRANSCRIPT = readFileSync(path.join(FIXTURES, 'transcript.jsonl'), 'utf8');
const SESSION = '5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d';
const caller = { tenant: 'local', project: 'shop' };

async function sessionMemories(service: MemoryService) {
  const page = await service.search(caller, { strategy: 'recent', session: SESSION, limit: 50 });
  return page.results.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.kind.localeCompare(b.kind));
}

function capture(service: MemoryService, text: string) {
  return captureTranscript(serviceCaptureStore(service, caller), parseTranscript(text), { sessionId: SESSION, project: 'shop' });
}

/** One more turn, in Claude Code's format, after the fixture's last line. */
function nextTurn(n: number, prompt: string, answer: string): string {
  const u = (i: number) => `0a1b2c3d-0000-4000-8000-${String(1000 + n * 10 + i).padStart(12, '0')}`;
  const common = { isSidechain: false, userType: 'external', cwd: '/home/alice/src/shop', sessionId: SESSION, version: '2.1.19', gitBranch: 'main' };
  return (
    [
      JSON.stringify({ ...common, parentUuid: null, type: 'user', message: { role: 'user', content: prompt }, uuid: u(1), timestamp: `2026-03-14T10:${String(n).padStart(2, '0')}:00.000Z` }),
      JSON.stringify({
        ...common,
        parentUuid: u(1),
        type: 'assistant',
        message: { id: `msg_${n}`, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [{ type: 'text', text: answer }], stop_reason: 'end_turn' },
        uuid: u(2),
        timestamp: `2026-03-14T10:${String(n).padStart(2, '0')}:05.000Z`,
      }),
    ].join('\n') + '\n'
  );
}

test('capture saves each turn once, with prompt, response, tools, session, project and time; subagent reports apart', async (t) => {
  const { service } = await serviceFixture(t, caller);
  const first = await capture(service, TRANSCRIPT);
  assert.deepEqual({ turns: first.turns, reports: first.agentReports, dup: first.duplicates, before: first.alreadyCaptured, found: first.cursorFound }, { turns: 2, reports: 1, dup: 0, before: 0, found: null });

  const memories = await sessionMemories(service);
  assert.deepEqual(memories.map((m) => m.kind), ['turn', 'agent_report', 'turn']);
  const [turn1, report, turn2] = memories;
  assert.equal(turn1!.project, 'shop');
  assert.equal(turn1!.session, SESSION);
  assert.equal(turn1!.user_prompt, 'The checkout test fails about one run in five with a timeout. Can you find out why?');
  assert.match(turn1!.content, /\[tool Bash\] \$ for i in 1 2 3 4 5/);
  assert.match(turn1!.content, /Exceeded timeout of 5000 ms/);
  assert.match(turn1!.content, /jest\.setTimeout\(15000\)/);
  assert.ok(!turn1!.content.includes('SECRET-THOUGHT-MARKER'));
  assert.equal(turn1!.created_at, '2026-03-14T09:00:01.037Z');
  assert.deepEqual(turn1!.tags, ['claude-code']);
  assert.equal(turn1!.metadata.source, 'claude-code');
  assert.equal(turn1!.metadata.claude_session, SESSION);
  assert.equal(turn1!.metadata.git_branch, 'main');
  assert.deepEqual(turn1!.metadata.tools, ['Bash', 'Read', 'Grep']);
  assert.equal(turn1!.metadata.thinking_blocks, 1);
  assert.match(report!.content, /^Subagent code-reviewer: Review payment retries\n\nFound two more hard-coded timeouts/);
  assert.deepEqual(report!.tags, ['claude-code', 'subagent']);
  assert.ok(!turn2!.content.includes('SIDECHAIN'));
  // The staging password in the assistant's answer was redacted before storing.
  assert.ok(!turn2!.content.includes('Staging-Pa55word'), turn2!.content);
  assert.match(turn2!.content, /postgres:\/\/shop:\[REDACTED\]@db\.staging\.internal/);

  // Running it again saves nothing.
  const again = await capture(service, TRANSCRIPT);
  assert.deepEqual({ turns: again.turns, reports: again.agentReports, dup: again.duplicates, before: again.alreadyCaptured, found: again.cursorFound }, { turns: 0, reports: 0, dup: 0, before: 2, found: true });
  assert.equal((await sessionMemories(service)).length, 3);

  // A new turn appended to the transcript: only it is saved.
  const grown = TRANSCRIPT + nextTurn(1, 'Move RETRY_DELAYS to config', 'Done: PAYMENT_RETRY_DELAYS_MS is read in src/config.ts.');
  const third = await capture(service, grown);
  assert.equal(third.turns, 1);
  assert.equal(third.alreadyCaptured, 2);
  assert.equal((await sessionMemories(service)).length, 4);
});

test('a turn that grows after capture is completed by a continuation, not saved twice', async (t) => {
  const { service } = await serviceFixture(t, caller);
  const lines = TRANSCRIPT.split('\n');
  // Stop ran while the first turn was still being written: only up to the Bash result (line 6).
  const early = await capture(service, lines.slice(0, 7).join('\n') + '\n');
  assert.equal(early.turns, 1);
  const full = await capture(service, TRANSCRIPT);
  assert.equal(full.turns, 2, 'the continuation of turn 1, and turn 2');
  const turns = (await sessionMemories(service)).filter((m) => m.kind === 'turn');
  assert.equal(turns.length, 3);
  const start = turns.find((m) => m.user_prompt?.startsWith('The checkout test') && m.metadata.continuation === undefined);
  const continuation = turns.find((m) => m.metadata.continuation === true);
  assert.match(start!.content, /\[tool Bash\]/);
  assert.ok(!start!.content.includes('[tool Read]'));
  assert.equal(continuation!.metadata.continuation, true);
  assert.equal(continuation!.user_prompt, start!.user_prompt);
  assert.ok(!continuation!.content.includes('[tool Bash]'));
  assert.match(continuation!.content, /\[tool Read\][\s\S]*Found it/);
});

test('idempotent without the cursor too (exact duplicates), and a forgotten memory is not captured back', async (t) => {
  const { service, db } = await serviceFixture(t, caller);
  await capture(service, TRANSCRIPT);
  // Cursor lost (or another Sage): the same turns render the same text and are duplicates.
  await db.pool.query('DELETE FROM capture_cursors');
  const recaptured = await capture(service, TRANSCRIPT);
  assert.deepEqual({ turns: recaptured.turns, reports: recaptured.agentReports, dup: recaptured.duplicates }, { turns: 0, reports: 0, dup: 3 });
  assert.equal((await sessionMemories(service)).length, 3);

  // The user forgets turn 1; later captures (the cursor is back) leave it forgotten.
  const turn1 = (await sessionMemories(service))[0]!;
  await service.forget(caller, { ids: [turn1.id] });
  const later = await capture(service, TRANSCRIPT + nextTurn(2, 'thanks, ship it', 'Merged and deployed.'));
  assert.equal(later.turns, 1);
  const left = await sessionMemories(service);
  assert.equal(left.length, 3);
  assert.ok(!left.some((m) => m.id === turn1.id));
});

test('captures of one session running at the same time (Stop and SessionEnd) save each turn once', async (t) => {
  const { service } = await serviceFixture(t, caller);
  const results = await Promise.all([capture(service, TRANSCRIPT), capture(service, TRANSCRIPT), capture(service, TRANSCRIPT)]);
  const saved = results.reduce((n, r) => n + r.turns + r.agentReports, 0);
  assert.equal(saved, 3);
  assert.equal((await sessionMemories(service)).length, 3);
  const { rows } = await service.db.pool.query('SELECT last_uuid, turns FROM capture_cursors WHERE session_id = $1', [SESSION]);
  assert.equal(rows[0].last_uuid, '0a1b2c3d-0000-4000-8000-000000000017');
});

test('tenants do not share cursors', async (t) => {
  const { service } = await serviceFixture(t, caller);
  await capture(service, TRANSCRIPT);
  const other = await captureTranscript(serviceCaptureStore(service, { tenant: 'other', project: 'shop' }), parseTranscript(TRANSCRIPT), { sessionId: SESSION, project: 'shop' });
  assert.equal(other.turns, 2);
  assert.equal(other.cursorFound, null);
});

test('given the text, capture parses from the cursor on and saves the same as from a full parse', async (t) => {
  const { service } = await serviceFixture(t, caller);
  const store = serviceCaptureStore(service, caller);
  const lines = TRANSCRIPT.split('\n');
  const early = await captureTranscript(store, lines.slice(0, 7).join('\n') + '\n', { sessionId: SESSION, project: 'shop' });
  assert.equal(early.turns, 1);
  const full = await captureTranscript(store, TRANSCRIPT, { sessionId: SESSION, project: 'shop' });
  assert.deepEqual([full.turns, full.agentReports, full.cursorFound], [2, 1, true]);
  const grown = await captureTranscript(store, TRANSCRIPT + nextTurn(3, 'and the webhook timeout?', 'Raised to 10 s, read from WEBHOOK_TIMEOUT_MS.'), { sessionId: SESSION, project: 'shop' });
  assert.deepEqual([grown.turns, grown.duplicates], [1, 0]);
  const again = await captureTranscript(store, TRANSCRIPT + nextTurn(3, 'and the webhook timeout?', 'Raised to 10 s, read from WEBHOOK_TIMEOUT_MS.'), { sessionId: SESSION, project: 'shop' });
  assert.deepEqual([again.turns, again.duplicates], [0, 0]);
  const kinds = (await sessionMemories(service)).map((m) => (m.metadata.continuation ? 'continuation' : m.kind)).sort();
  assert.deepEqual(kinds, ['agent_report', 'continuation', 'turn', 'turn', 'turn']);
});

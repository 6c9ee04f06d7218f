import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildTurns, parseTranscript, parseTranscriptFrom, promptText, transcriptCwd } from '../../src/claude/transcript.ts';
import { LIMITS, describeInput, renderTurn, truncate, truncateMiddle } from '../../src/claude/render.ts';
import { readHookStream, splitFirstJson } from '../../src/claude/hook-input.ts';
import { promptQuery } from '../../src/cli/hook.ts';
import { InputError } from '../../src/errors.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/claude');
const transcriptText = readFileSync(path.join(FIXTURES, 'transcript.jsonl'), 'utf8');

test('parses user and assistant lines, skips bookkeeping, keeps the title', () => {
  const t = parseTranscript(transcriptText);
  assert.equal(t.lines, 24);
  assert.equal(t.invalid, 0);
  assert.equal(t.title, 'Fix flaky checkout test');
  // summary, file-history-snapshot and system lines are not entries
  assert.equal(t.entries.length, 21);
  assert.ok(t.entries.every((e) => e.type === 'user' || e.type === 'assistant'));
  assert.equal(t.entries[0]!.line, 2);
  assert.equal(t.entries[0]!.cwd, '/home/alice/src/shop');
  assert.equal(t.entries[0]!.sessionId, '5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d');
});

test('bad lines are counted and skipped, never fatal', () => {
  const t = parseTranscript('not json\n{"type":"user"}\n[1,2]\n\n{"type":"user","uuid":"u1","message":{"role":"user","content":"hello there"}}\n{"type":"assistant","uuid":"a1","message":{"content":42}}\n{"trunc');
  assert.equal(t.invalid, 3);
  assert.equal(t.entries.length, 1);
  assert.equal(buildTurns(t.entries)[0]!.prompt, 'hello there');
  assert.deepEqual(parseTranscript('').entries, []);
});

test('turns: prompts, assistant text, tool calls paired with results by tool_use_id, thinking counted not kept', () => {
  const turns = buildTurns(parseTranscript(transcriptText).entries);
  assert.equal(turns.length, 2);
  const [first, second] = turns;
  assert.equal(first!.prompt, 'The checkout test fails about one run in five with a timeout. Can you find out why?');
  assert.equal(first!.startedAt, '2026-03-14T09:00:01.037Z');
  assert.equal(first!.thinkingBlocks, 1);
  const kinds = first!.parts.map((p) => (p.kind === 'text' ? 'text' : p.call.name));
  assert.deepEqual(kinds, ['text', 'Bash', 'Read', 'Grep', 'text']);
  const tools = first!.parts.flatMap((p) => (p.kind === 'tool' ? [p.call] : []));
  // Results arrive in a different order than the calls (Grep before Read): paired by id.
  assert.match(tools[0]!.result!.text, /Exceeded timeout of 5000 ms/);
  assert.match(tools[1]!.result!.text, /import \{ checkout \}/);
  assert.equal(tools[1]!.result!.isError, false);
  assert.equal(tools[2]!.result!.isError, true);
  // The slash command (/model), its caveat and its output belong to no prompt, but extend the turn.
  assert.equal(first!.lastUuid, '0a1b2c3d-0000-4000-8000-000000000013');
  assert.equal(second!.prompt, 'Ask a subagent to review the payment retry code for other timeouts. Here is the CI screenshot.\n[image]');
  assert.equal(second!.lastUuid, '0a1b2c3d-0000-4000-8000-000000000017');
});

test('sidechain (subagent) lines are skipped; the subagent report arrives as the Task result', () => {
  const [, second] = buildTurns(parseTranscript(transcriptText).entries);
  const rendered = renderTurn(second!)!;
  assert.ok(!rendered.content.includes('SIDECHAIN-INTERNAL-NOTE'));
  assert.ok(!rendered.content.includes('SIDECHAIN-FILE-CONTENT'));
  assert.match(rendered.content, /^\[subagent code-reviewer\] Review payment retries\n\[report\] Found two more hard-coded timeouts/m);
  assert.equal(rendered.agentReports.length, 1);
  assert.equal(rendered.agentReports[0]!.subagentType, 'code-reviewer');
  assert.match(rendered.agentReports[0]!.content, /webhook\.ts:48/);
  assert.deepEqual(rendered.tools, ['Task']);
});

test('rendering: prompt and response, tool inputs summarised, outputs kept, thinking dropped', () => {
  const [first] = buildTurns(parseTranscript(transcriptText).entries);
  const r = renderTurn(first!)!;
  assert.equal(r.userText, first!.prompt);
  assert.ok(!r.content.includes('SECRET-THOUGHT-MARKER'), 'thinking is not stored');
  assert.match(r.content, /^I'll run the checkout test a few times/);
  assert.match(r.content, /\[tool Bash\] \$ for i in 1 2 3 4 5; do npx jest test\/checkout\.test\.ts/);
  assert.match(r.content, /\[result\] Tests: 1 passed/);
  assert.match(r.content, /\[tool Read\] \/home\/alice\/src\/shop\/test\/checkout\.test\.ts\n\[result\]/);
  assert.match(r.content, /\[tool Grep\] retryPayment in \/home\/alice\/src\/shop\/src\n\[error\] ripgrep/);
  assert.match(r.content, /Found it: the sandbox gateway retries/);
  assert.deepEqual(r.tools, ['Bash', 'Read', 'Grep']);
  // Deterministic: the same turn renders the same text (what makes re-capture a duplicate).
  assert.deepEqual(renderTurn(first!), r);
});

test('prompt detection: meta, compact summaries, command envelopes, interruptions and tool results are not prompts', () => {
  const base = { line: 0, uuid: 'u', timestamp: null, sessionId: null, cwd: null, gitBranch: null, isSidechain: false, isMeta: false, isCompactSummary: false };
  assert.equal(promptText({ ...base, type: 'user', content: 'real question' }), 'real question');
  assert.equal(promptText({ ...base, type: 'user', isMeta: true, content: 'Caveat: …' }), null);
  assert.equal(promptText({ ...base, type: 'user', isCompactSummary: true, content: 'This session is being continued from a previous conversation…' }), null);
  assert.equal(promptText({ ...base, type: 'user', content: '<command-name>/clear</command-name>' }), null);
  assert.equal(promptText({ ...base, type: 'user', content: '<local-command-stdout></local-command-stdout>' }), null);
  assert.equal(promptText({ ...base, type: 'user', content: [{ type: 'text', text: '[Request interrupted by user for tool use]' }] }), null);
  assert.equal(promptText({ ...base, type: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'x' }] }), null);
  assert.equal(promptText({ ...base, type: 'user', isSidechain: true, content: 'subagent prompt' }), null);
  assert.equal(promptText({ ...base, type: 'assistant', content: 'hi' }), null);
  // Quoting an envelope inside a real prompt is still a prompt.
  assert.equal(promptText({ ...base, type: 'user', content: 'why does <command-name> appear in my logs?' }), 'why does <command-name> appear in my logs?');
});

test('continuation: only the parts after the cursor line are rendered; nothing new gives null', () => {
  const [first] = buildTurns(parseTranscript(transcriptText).entries);
  // Cursor after the Bash result (line 6): the rest of turn 1 is a continuation.
  const cont = renderTurn(first!, 6)!;
  assert.ok(!cont.content.includes('[tool Bash]'));
  assert.match(cont.content, /^\[tool Read\]/);
  assert.match(cont.content, /Found it/);
  assert.equal(cont.userText, first!.prompt);
  assert.equal(renderTurn(first!, first!.lastLine), null);
});

test('unpaired tool calls (interrupted) say so', () => {
  const text = [
    '{"type":"user","uuid":"u1","message":{"role":"user","content":"list files"}}',
    '{"type":"assistant","uuid":"a1","message":{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}]}}',
    '{"type":"user","uuid":"u2","message":{"role":"user","content":[{"type":"text","text":"[Request interrupted by user for tool use]"}]}}',
  ].join('\n');
  const [turn] = buildTurns(parseTranscript(text).entries);
  assert.equal(renderTurn(turn!)!.content, '[tool Bash] $ ls\n[no result]');
  assert.equal(turn!.lastUuid, 'u2');
});

test('truncation is bounded and never splits a surrogate pair', () => {
  const emoji = '😀'.repeat(5000); // 10 000 UTF-16 units
  for (const max of [99, 100, 101, 1001]) {
    const a = truncate(emoji, max);
    const b = truncateMiddle(emoji, max);
    assert.ok(a.length <= max && b.length <= max, `${a.length} ${b.length} > ${max}`);
    assert.ok(a.isWellFormed() && b.isWellFormed(), `broken pair at max ${max}`);
  }
  assert.equal(truncate('short', 10), 'short');
  const mid = truncateMiddle('HEAD' + 'x'.repeat(10_000) + 'TAIL', 200);
  assert.ok(mid.startsWith('HEAD') && mid.endsWith('TAIL') && mid.includes('characters omitted'));
});

test('huge tool outputs and inputs are cut; a huge turn stays under the turn limit', () => {
  const big = 'line of build output\n'.repeat(50_000);
  const lines = ['{"type":"user","uuid":"u1","message":{"role":"user","content":"build it"}}'];
  for (let i = 0; i < 60; i++) {
    lines.push(JSON.stringify({ type: 'assistant', uuid: `a${i}`, message: { role: 'assistant', content: [{ type: 'tool_use', id: `t${i}`, name: 'Bash', input: { command: `make step${i} ${'-v '.repeat(1000)}` } }] } }));
    lines.push(JSON.stringify({ type: 'user', uuid: `r${i}`, message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: `t${i}`, content: big + `END${i}` }] } }));
  }
  const [turn] = buildTurns(parseTranscript(lines.join('\n')).entries);
  const r = renderTurn(turn!)!;
  assert.ok(r.content.length <= LIMITS.turn, `${r.content.length}`);
  assert.ok(r.content.isWellFormed());
  assert.match(r.content, /\[tool Bash\] \$ make step0/);
  assert.ok(describeInput('Bash', { command: 'x'.repeat(10_000) }).length <= LIMITS.toolInput);
  assert.equal(describeInput('Unknown', { a: 1 }), '{"a":1}');
  assert.equal(describeInput('Edit', { file_path: '/a.ts', old_string: 'x', new_string: 'y' }), '/a.ts\n- x\n+ y');
});

test('hook stdin: the first JSON value (even over several lines), then the streamed transcript', () => {
  const hook = readFileSync(path.join(FIXTURES, 'hook-stop.json'), 'utf8').trim();
  const { input, rest } = readHookStream(`${hook}\n${transcriptText}`);
  assert.equal(input.session_id, '5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d');
  assert.equal(input.hook_event_name, 'Stop');
  assert.equal(input.stop_hook_active, false);
  assert.equal(parseTranscript(rest).entries.length, 21);
  const pretty = JSON.stringify({ session_id: 's1', cwd: '/x', prompt: 'a } tricky "{" prompt', extra_future_field: [1] }, null, 2);
  const split = splitFirstJson(`  ${pretty}\n{"type":"user"}`);
  assert.equal(JSON.parse(split.json).prompt, 'a } tricky "{" prompt');
  assert.equal(split.rest, '\n{"type":"user"}');
  assert.throws(() => readHookStream(''), InputError);
  assert.throws(() => readHookStream('{"session_id": "x"'), /incomplete/);
  assert.throws(() => readHookStream('{"cwd": "/x"}'), /session_id/);
  assert.throws(() => readHookStream('hello'), /JSON object/);
});

test('the prompt hook searches with the prompt, not with empty or bare slash commands', () => {
  assert.equal(promptQuery(undefined), null);
  assert.equal(promptQuery('   '), null);
  assert.equal(promptQuery('/clear'), null);
  assert.equal(promptQuery('continue'), null);
  assert.equal(promptQuery('thanks!'), null);
  assert.equal(promptQuery('yes, do it'), null);
  assert.equal(promptQuery('pgbouncer timeout?'), 'pgbouncer timeout?');
  assert.equal(promptQuery('数据库连接池'), '数据库连接池');
  assert.equal(promptQuery('Why was the checkout test timing out?'), 'Why was the checkout test timing out?');
  assert.equal(promptQuery(Array.from({ length: 600 }, (_, i) => `term${i}`).join(' '))!.length, 2000);
});

test('parsing from a cursor reads only the cursor\'s turn onwards, and yields the same new turns as a full parse', () => {
  const full = parseTranscript(transcriptText);
  const fullTurns = buildTurns(full.entries);
  for (const cursor of full.entries.filter((e) => !e.isSidechain)) {
    const { transcript, found } = parseTranscriptFrom(transcriptText, cursor.uuid);
    assert.equal(found, true, cursor.uuid);
    assert.ok(transcript.entries.length <= full.entries.length);
    const expected = fullTurns.filter((t) => t.lastLine > cursor.line).map((t) => renderTurn(t, t.promptLine <= cursor.line ? cursor.line : -1));
    const actual = buildTurns(transcript.entries)
      .filter((t) => t.lastLine > cursor.line)
      .map((t) => renderTurn(t, t.promptLine <= cursor.line ? cursor.line : -1));
    assert.deepEqual(actual, expected, `cursor ${cursor.uuid}`);
  }
  // From the last turn's final answer: only turn 2 is parsed, with its own line numbers.
  const tail = parseTranscriptFrom(transcriptText, '0a1b2c3d-0000-4000-8000-000000000017').transcript;
  assert.equal(tail.entries[0]!.uuid, '0a1b2c3d-0000-4000-8000-000000000014');
  assert.equal(tail.entries[0]!.line, full.entries.find((e) => e.uuid === '0a1b2c3d-0000-4000-8000-000000000014')!.line);
  // Unknown cursor: everything, found = false.
  const unknown = parseTranscriptFrom(transcriptText, 'not-there');
  assert.equal(unknown.found, false);
  assert.equal(unknown.transcript.entries.length, full.entries.length);
  // Blank lines at the start do not trip the backwards walk.
  const padded = '\n\n' + '{"type":"assistant","uuid":"a0","message":{"content":"orphan"}}\n' + '{"type":"user","uuid":"u1","message":{"role":"user","content":"hi there"}}\n';
  assert.equal(parseTranscriptFrom(padded, 'a0').transcript.entries.length, 2);
  assert.equal(parseTranscriptFrom(padded, 'u1').transcript.entries[0]!.line, 3);
});

test('the working directory is read from the first entries', () => {
  assert.equal(transcriptCwd(transcriptText), '/home/alice/src/shop');
  assert.equal(transcriptCwd('{"type":"summary","summary":"x"}\n'), null);
});

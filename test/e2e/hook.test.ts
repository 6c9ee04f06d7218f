/**
 * `sage hook prompt|stop` as Claude Code runs them: a process with the hook JSON on stdin,
 * against a real PostgreSQL. SAGE_TEST_BINARY=dist/sage runs the same tests on the binary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:net';
import { buildPlan } from '../../src/cli/setup.ts';
import { sageCommand } from '../helpers/mcp.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { runProcess, runSageProcess, type ProcessResult } from '../helpers/process.ts';
import { makeTempDir } from '../helpers/tmp.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/claude');
const TRANSCRIPT = readFileSync(path.join(FIXTURES, 'transcript.jsonl'), 'utf8');
const SESSION = '5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d';

function run(args: string[], stdin: string, env: Record<string, string>, options: { shell?: boolean } = {}): Promise<ProcessResult> {
  return options.shell ? runProcess('/bin/sh', ['-c', args[0]!], { env, stdin }) : runSageProcess(args, { env, stdin });
}

function hookJson(event: 'UserPromptSubmit' | 'Stop' | 'SessionEnd', fields: Record<string, unknown>): string {
  return JSON.stringify({ session_id: SESSION, cwd: '/home/alice/src/shop', permission_mode: 'default', hook_event_name: event, ...fields });
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 1));
    });
  });
}

test('stop captures the transcript once; prompt injects relevant memories, or nothing', async (t) => {
  const db = await createTestDatabase(t);
  const dir = makeTempDir(t);
  const transcriptPath = path.join(dir, `${SESSION}.jsonl`);
  copyFileSync(path.join(FIXTURES, 'transcript.jsonl'), transcriptPath);
  const env = { DATABASE_URL: db.url };

  const stop = await run(['hook', 'stop'], hookJson('Stop', { transcript_path: transcriptPath, stop_hook_active: false }), env);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout, '');
  assert.match(stop.stderr, /captured 2 new turns, 1 agent report in project "shop" \(session 5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d\)/);

  const end = await run(['hook', 'stop'], hookJson('SessionEnd', { transcript_path: transcriptPath, reason: 'prompt_input_exit' }), env);
  assert.equal(end.code, 0);
  assert.match(end.stderr, /captured 0 new turns in project "shop"/);

  const prompt = await run(['hook', 'prompt'], readFileSync(path.join(FIXTURES, 'hook-prompt.json'), 'utf8'), env);
  assert.equal(prompt.code, 0, prompt.stderr);
  assert.match(prompt.stdout, /^Relevant memories from Sage \(shop\), most relevant first:\n- \[2026-03-14 /);
  assert.match(prompt.stdout, /checkout test fails about one run in five/);
  assert.ok(prompt.stdout.length <= 2500 + 1, `${prompt.stdout.length}`);
  assert.ok(!prompt.stdout.includes('Staging-Pa55word'));
  assert.match(prompt.stderr, /memories \(\d+ characters\) from project "shop"/);

  const json = await run(['hook', 'prompt', '--json', '--budget', '600'], hookJson('UserPromptSubmit', { prompt: 'webhook fetch timeout in payments' }), env);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { hookSpecificOutput: { hookEventName: string; additionalContext: string } };
  assert.equal(parsed.hookSpecificOutput.hookEventName, 'UserPromptSubmit');
  assert.match(parsed.hookSpecificOutput.additionalContext, /webhook/);
  assert.ok(parsed.hookSpecificOutput.additionalContext.length <= 600);

  const unrelated = await run(['hook', 'prompt'], hookJson('UserPromptSubmit', { prompt: 'Plan the office picnic menu with vegetarian options' }), env);
  assert.equal(unrelated.code, 0);
  assert.equal(unrelated.stdout, '', 'nothing relevant: nothing printed');
  assert.match(unrelated.stderr, /no relevant memories in project "shop"/);

  // Another project sees none of it.
  const elsewhere = await run(['hook', 'prompt'], hookJson('UserPromptSubmit', { prompt: 'Why was the checkout test timing out?', cwd: '/home/alice/src/blog' }), env);
  assert.equal(elsewhere.stdout, '');
  assert.match(elsewhere.stderr, /project "blog"/);

  // A blank SAGE_PROJECT is no choice: the project still comes from the working directory (the
  // database is opened before the hook input is read, without a project).
  const blank = await run(['hook', 'prompt'], hookJson('UserPromptSubmit', { prompt: 'webhook fetch timeout in payments' }), { ...env, SAGE_PROJECT: '  ' });
  assert.equal(blank.code, 0, blank.stderr);
  assert.match(blank.stdout, /^Relevant memories from Sage \(shop\)/);
});

test('Docker: the transcript is streamed after the hook JSON when Sage cannot read its path', async (t) => {
  const db = await createTestDatabase(t);
  const env = { DATABASE_URL: db.url };
  const missing = `/home/alice/.claude/projects/-home-alice-src-shop/${SESSION}.jsonl`;

  const notStreamed = await run(['hook', 'stop'], hookJson('Stop', { transcript_path: missing }), env);
  assert.equal(notStreamed.code, 0);
  assert.match(notStreamed.stderr, /cannot read the transcript .*ENOENT.*sage setup claude --mode docker/);

  const emptyStream = await run(['hook', 'stop', '--transcript-stdin'], hookJson('Stop', { transcript_path: missing }), env);
  assert.equal(emptyStream.code, 0);
  assert.match(emptyStream.stderr, /no transcript followed the hook JSON/);

  const streamed = await run(['hook', 'stop', '--transcript-stdin'], `${hookJson('Stop', { transcript_path: missing })}\n${TRANSCRIPT}`, env);
  assert.equal(streamed.code, 0, streamed.stderr);
  assert.match(streamed.stderr, /captured 2 new turns, 1 agent report in project "shop"/);
});

test('Docker: the hook commands `sage setup claude --mode docker` writes work through `docker exec -i`', async (t) => {
  const db = await createTestDatabase(t);
  const dir = makeTempDir(t);
  // The transcript lives on the host; a stand-in for `docker exec -i [-e VAR] CONTAINER /sage ARGS`
  // runs Sage with the same stdin, as the container would.
  const hostTranscript = path.join(dir, 'projects', 'x.jsonl');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(path.dirname(hostTranscript));
  writeFileSync(hostTranscript, TRANSCRIPT);
  const { command, args } = sageCommand();
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    path.join(bin, 'docker'),
    [
      '#!/bin/sh',
      '[ "$1" = exec ] || { echo "unexpected docker $*" >&2; exit 64; }',
      'shift',
      'while [ $# -gt 0 ]; do case "$1" in -i) shift ;; -e) shift 2 ;; *) break ;; esac; done',
      '[ "$1" = sage ] && [ "$2" = /sage ] || { echo "unexpected container or path: $1 $2" >&2; exit 64; }',
      'shift 2',
      `exec ${[command, ...args].map((a) => `'${a}'`).join(' ')} "$@"`,
    ].join('\n'),
  );
  chmodSync(path.join(bin, 'docker'), 0o755);
  const plan = buildPlan({ mode: 'docker', binary: 'sage', container: 'sage', env: {} });
  // The host's project directory does not exist "in the container": CLAUDE_PROJECT_DIR names the project.
  const env = { DATABASE_URL: db.url, PATH: `${bin}:${process.env.PATH}`, CLAUDE_PROJECT_DIR: '/home/alice/src/storefront' };
  const payload = hookJson('Stop', { transcript_path: hostTranscript, cwd: '/home/alice/src/storefront/web' });
  const stop = await run([plan.hooks.Stop[0]!.hooks[0]!.command], payload, env, { shell: true });
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stderr, /captured 2 new turns, 1 agent report in project "storefront"/);
  const again = await run([plan.hooks.SessionEnd[0]!.hooks[0]!.command], payload, env, { shell: true });
  assert.match(again.stderr, /captured 0 new turns/);
  const prompt = await run([plan.hooks.UserPromptSubmit[0]!.hooks[0]!.command], hookJson('UserPromptSubmit', { prompt: 'checkout test timeout', cwd: '/home/alice/src/storefront/web' }), env, {
    shell: true,
  });
  assert.equal(prompt.code, 0, prompt.stderr);
  assert.match(prompt.stdout, /Relevant memories from Sage \(storefront\)/);
});

test('a hook never blocks Claude Code: every failure exits 0 with the reason on stderr', async (t) => {
  const db = await createTestDatabase(t);
  const port = await closedPort();
  const down = { DATABASE_URL: `postgres://sage:secret-pw@127.0.0.1:${port}/sage` };
  const prompt = hookJson('UserPromptSubmit', { prompt: 'why is checkout slow?' });

  const noDb = await run(['hook', 'prompt'], prompt, down);
  assert.equal(noDb.code, 0);
  assert.equal(noDb.stdout, '');
  assert.match(noDb.stderr, /PostgreSQL is not reachable.*exit 0/);
  assert.ok(!noDb.stderr.includes('secret-pw'), 'no password in the message');

  const noConfig = await run(['hook', 'prompt'], prompt, {});
  assert.equal(noConfig.code, 0);
  assert.match(noConfig.stderr, /DATABASE_URL is not set/);

  for (const [name, args, stdin] of [
    ['garbage stdin', ['hook', 'prompt'], 'this is not json'],
    ['empty stdin', ['hook', 'stop'], ''],
    ['no session id', ['hook', 'stop'], '{"cwd": "/x"}'],
    ['unknown flag', ['hook', 'prompt', '--frobnicate'], prompt],
    ['bad budget', ['hook', 'prompt', '--budget', 'lots'], prompt],
    ['unknown event', ['hook', 'pre-tool-use'], prompt],
    ['bad url', ['hook', 'prompt', '--url', 'not a url'], prompt],
  ] as const) {
    const r = await run([...args], stdin, { DATABASE_URL: db.url });
    assert.equal(r.code, 0, `${name}: exit ${r.code} ${r.stderr}`);
    assert.equal(r.stdout, '', name);
    assert.ok(r.stderr.trim().length > 0, `${name}: says why`);
  }

  // A database that accepts the connection but never answers: the deadline ends the hook.
  const { createServer: createTcp } = await import('node:net');
  const sockets: import('node:net').Socket[] = [];
  const silent = createTcp((s) => sockets.push(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const silentPort = (silent.address() as import('node:net').AddressInfo).port;
  const hung = await run(['hook', 'prompt', '--timeout-ms', '800'], prompt, { DATABASE_URL: `postgres://x@127.0.0.1:${silentPort}/x` });
  assert.equal(hung.code, 0);
  assert.match(hung.stderr, /gave up after 800 ms/);
  // The connection is opened while the input is read; a bad input ends the hook at once with its
  // own reason, without waiting for that connection (nor for the deadline).
  const badInput = await run(['hook', 'prompt', '--timeout-ms', '60000'], 'this is not json', { DATABASE_URL: `postgres://x@127.0.0.1:${silentPort}/x` });
  assert.equal(badInput.code, 0);
  assert.equal(badInput.stdout, '');
  assert.doesNotMatch(badInput.stderr, /gave up|not reachable/);
  assert.equal(badInput.stderr.trim().split('\n').length, 1, badInput.stderr);
  // The deadline, not the pool's 5 s connect timeout, ended it: the message above says so.
  // (No wall-clock assertion: on a loaded machine start-up alone varies by seconds.)
});

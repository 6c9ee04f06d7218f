/**
 * The hooks against a real `sage serve` (JWT auth), with a token minted by `sage token`:
 * the HTTP mode of `sage setup claude`, end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { buildPlan } from '../../src/cli/setup.ts';
import { makeKeys, runSage, startServe } from '../helpers/http.ts';
import { sageCommand } from '../helpers/mcp.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { runProcess, type ProcessResult } from '../helpers/process.ts';
import { makeTempDir } from '../helpers/tmp.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/claude');
const SESSION = '5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d';

function sh(command: string, stdin: string, env: Record<string, string>): Promise<ProcessResult> {
  return runProcess('/bin/sh', ['-c', command], { env, stdin });
}

test('http mode: the hooks `sage setup claude --mode http` writes capture to and read from sage serve', async (t) => {
  const db = await createTestDatabase(t);
  const keys = makeKeys(t);
  const serve = await startServe({ DATABASE_URL: db.url, SAGE_JWT_SECRET_FILE: keys.secretFile }, t);
  const minted = await runSage(['token', '--sub', 'alice', '--scope', 'memory:read,memory:write', '--ttl', '1h'], { SAGE_JWT_SECRET_FILE: keys.secretFile });
  assert.equal(minted.code, 0, minted.stderr);
  const dir = makeTempDir(t);
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, minted.stdout, { mode: 0o600 });

  const { command, args } = sageCommand();
  const binary = [command, ...args].join(' ');
  const plan = buildPlan({ mode: 'http', binary: 'SAGE_BIN', container: 'sage', url: `${serve.url}/mcp`, tokenFile, env: {} });
  // The plan quotes the binary path; the tests run the sources through node, so substitute.
  const hook = (event: 'UserPromptSubmit' | 'Stop') => plan.hooks[event][0]!.hooks[0]!.command.replace('SAGE_BIN', binary);
  const env = { XDG_STATE_HOME: path.join(dir, 'state') };

  const stop = await sh(hook('Stop'), JSON.stringify({ session_id: SESSION, transcript_path: path.join(FIXTURES, 'transcript.jsonl'), cwd: '/home/alice/src/shop', hook_event_name: 'Stop' }), env);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stderr, /captured 2 new turns, 1 agent report in project "shop"/);

  // Stored in the token's tenant (sub = alice), in the project derived on the client.
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tenant: string; project: string; kind: string }>('SELECT tenant, project, kind FROM memories ORDER BY kind');
    assert.deepEqual(
      rows.map((r) => [r.tenant, r.project, r.kind]),
      [
        ['alice', 'shop', 'agent_report'],
        ['alice', 'shop', 'turn'],
        ['alice', 'shop', 'turn'],
      ],
    );
  } finally {
    await client.end();
  }

  const prompt = await sh(hook('UserPromptSubmit'), JSON.stringify({ session_id: 'next', cwd: '/home/alice/src/shop', hook_event_name: 'UserPromptSubmit', prompt: 'why did the checkout test time out?' }), env);
  assert.equal(prompt.code, 0, prompt.stderr);
  assert.match(prompt.stdout, /^Relevant memories from Sage \(shop\)/);
  assert.match(prompt.stdout, /jest\.setTimeout\(15000\)/);

  // A token for another tenant sees nothing of alice's.
  const other = await runSage(['token', '--sub', 'bob', '--scope', 'memory:read', '--ttl', '1h'], { SAGE_JWT_SECRET_FILE: keys.secretFile });
  writeFileSync(tokenFile, other.stdout);
  const bob = await sh(hook('UserPromptSubmit'), JSON.stringify({ session_id: 'b', cwd: '/home/alice/src/shop', prompt: 'why did the checkout test time out?' }), env);
  assert.equal(bob.code, 0, bob.stderr);
  assert.equal(bob.stdout, '');
  // …and a read-only token cannot capture: refused by the server, still exit 0.
  const denied = await sh(hook('Stop'), JSON.stringify({ session_id: 'other-session', transcript_path: path.join(FIXTURES, 'transcript.jsonl'), cwd: '/home/bob/shop' }), env);
  assert.equal(denied.code, 0);
  assert.match(denied.stderr, /save_conversation failed on the server|scope|forbidden|insufficient/i);
});

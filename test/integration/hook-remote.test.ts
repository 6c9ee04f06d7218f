/**
 * The hooks against a remote Sage over Streamable HTTP with a bearer token. The server side is
 * Sage's own MCP server (createMcpServer over the memory service) behind the SDK's Streamable
 * HTTP transport and a token check, standing in for `sage serve`; the client side is the
 * real `sage hook … --url … --token-file …` process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { cursorFile } from '../../src/cli/hook-remote.ts';
import { createMcpServer } from '../../src/mcp/server.ts';
import type { MemoryService } from '../../src/memory/service.ts';
import { runSageProcess, type ProcessResult } from '../helpers/process.ts';
import { serviceFixture } from '../helpers/service.ts';
import { makeTempDir } from '../helpers/tmp.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/claude');
const SESSION = '5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d';
const TOKEN = 'test-token-0123456789abcdef';

async function startServer(service: MemoryService, t: { after(fn: () => unknown): void }): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.headers.authorization === `Bearer ${TOKEN}` ? 'authorized' : 'anonymous'}`);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end('{"error":"invalid_token"}');
      return;
    }
    const mcp = createMcpServer(service, { tenant: 'local', project: 'default' });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    mcp
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, requests };
}

function run(args: string[], stdin: string, env: Record<string, string>): Promise<ProcessResult> {
  return runSageProcess(args, { env, stdin });
}

test('remote mode: stop captures over MCP (cursor kept locally), prompt gets context over MCP; no database on the client', async (t) => {
  const { service } = await serviceFixture(t, { project: 'default' });
  const { url, requests } = await startServer(service, t);
  const dir = makeTempDir(t);
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const env = { XDG_STATE_HOME: path.join(dir, 'state') };
  const remote = ['--url', url, '--token-file', tokenFile];
  const stopInput = JSON.stringify({ session_id: SESSION, transcript_path: path.join(FIXTURES, 'transcript.jsonl'), cwd: '/home/alice/src/shop', hook_event_name: 'Stop' });

  const stop = await run(['hook', 'stop', ...remote], stopInput, env);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stderr, /captured 2 new turns, 1 agent report in project "shop"/);
  const stored = await service.search({ tenant: 'local', project: 'shop' }, { strategy: 'recent', session: SESSION, limit: 10 });
  assert.deepEqual(stored.results.map((m) => m.kind).sort(), ['agent_report', 'turn', 'turn']);
  const turn = stored.results.find((m) => m.user_prompt?.startsWith('The checkout test'))!;
  assert.equal(turn.metadata.started_at, '2026-03-14T09:00:01.037Z');
  assert.ok(!turn.content.includes('SECRET-THOUGHT-MARKER'));
  const cursor = cursorFile(url, SESSION, env);
  assert.ok(existsSync(cursor));
  assert.equal(JSON.parse(readFileSync(cursor, 'utf8')).lastUuid, '0a1b2c3d-0000-4000-8000-000000000017');

  const again = await run(['hook', 'stop', ...remote], stopInput, env);
  assert.match(again.stderr, /captured 0 new turns/);

  // Without the local cursor the server's duplicate detection still keeps one copy.
  const fresh = { XDG_STATE_HOME: path.join(dir, 'other-state') };
  const resent = await run(['hook', 'stop', ...remote], stopInput, fresh);
  assert.match(resent.stderr, /captured 0 new turns, 3 already stored/);

  const prompt = await run(['hook', 'prompt', ...remote], JSON.stringify({ session_id: SESSION, cwd: '/home/alice/src/shop', hook_event_name: 'UserPromptSubmit', prompt: 'why did the checkout test time out?' }), env);
  assert.equal(prompt.code, 0, prompt.stderr);
  assert.match(prompt.stdout, /^Relevant memories from Sage \(shop\)/);
  assert.ok(requests.every((r) => r.endsWith('authorized')), requests.join(', '));
});

test('remote mode: a bad token or an unreachable server never blocks (exit 0, reason on stderr)', async (t) => {
  const { service } = await serviceFixture(t);
  const { url } = await startServer(service, t);
  const dir = makeTempDir(t);
  const wrong = path.join(dir, 'wrong');
  writeFileSync(wrong, 'not-the-token');
  const input = JSON.stringify({ session_id: SESSION, cwd: '/home/alice/src/shop', prompt: 'checkout timeout' });
  const denied = await run(['hook', 'prompt', '--url', url, '--token-file', wrong], input, {});
  assert.equal(denied.code, 0);
  assert.equal(denied.stdout, '');
  assert.match(denied.stderr, /Sage at http:\/\/127\.0\.0\.1:\d+\/mcp refused the token \(HTTP 401, invalid_token\): mint a new one with `sage token`/);
  assert.doesNotMatch(denied.stderr, /cannot reach/, 'the server was reached');

  const missingToken = await run(['hook', 'prompt', '--url', url, '--token-file', path.join(dir, 'nope')], input, {});
  assert.equal(missingToken.code, 0);
  assert.match(missingToken.stderr, /cannot read the token file .*ENOENT/);

  const down = await run(['hook', 'prompt', '--url', 'http://127.0.0.1:9/mcp', '--token-file', wrong], input, {});
  assert.equal(down.code, 0);
  assert.match(down.stderr, /cannot reach Sage/);
});

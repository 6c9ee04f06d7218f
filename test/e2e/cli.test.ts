import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createTestDatabase } from '../helpers/postgres.ts';
import { sageCommand } from '../helpers/mcp.ts';

function sage(args: string[], env: Record<string, string> = {}) {
  const { command, args: pre } = sageCommand();
  const r = spawnSync(command, [...pre, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('help and version', () => {
  const help = sage(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: sage <command>/);
  for (const name of ['stdio', 'migrate', 'health', 'version']) assert.match(help.stdout, new RegExp(`\\n  ${name} `));
  const sub = sage(['stdio', '--help']);
  assert.equal(sub.code, 0);
  assert.match(sub.stdout, /--database-url URL/);
  const version = sage(['version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^sage \d+\.\d+\.\d+ \(node v24\.\d+\.\d+, vectorizer hv\d+-/);
});

test('bad usage and bad configuration: one clear line, exit code 2', () => {
  const unknown = sage(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^sage: unknown command "frobnicate"/);
  const flag = sage(['stdio', '--no-such-flag']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown option '--no-such-flag'/);
  const noUrl = sage(['stdio']);
  assert.equal(noUrl.code, 2);
  assert.equal(noUrl.stderr.trim().split('\n').length, 1);
  assert.match(noUrl.stderr, /DATABASE_URL is not set/);
  assert.equal(noUrl.stdout, '');
  const badDim = sage(['stdio'], { DATABASE_URL: 'postgres://u@127.0.0.1:1/x', SAGE_VECTOR_DIMENSION: '3' });
  assert.equal(badDim.code, 2);
  assert.match(badDim.stderr, /SAGE_VECTOR_DIMENSION: must be a power of two/);
});

test('migrate and health against a real database; health fails with one line when it is unreachable', async (t) => {
  const db = await createTestDatabase(t);
  const migrate = sage(['migrate'], { DATABASE_URL: db.url });
  assert.equal(migrate.code, 0, migrate.stderr);
  assert.match(migrate.stdout, /applied migrations 1/);
  const again = sage(['migrate'], { DATABASE_URL: db.url });
  assert.match(again.stdout, /schema is up to date/);
  const healthy = sage(['health'], { DATABASE_URL: db.url });
  assert.equal(healthy.code, 0);
  assert.match(healthy.stdout, /^ok: postgres 15\.\d+.*, schema \d+, [\d.]+ ms$/m);
  const down = sage(['health'], { DATABASE_URL: 'postgres://sage:secret-pass@127.0.0.1:1/sage' });
  assert.equal(down.code, 1);
  assert.equal(down.stdout.trim().split('\n').length, 1);
  assert.match(down.stdout, /^unhealthy: PostgreSQL is not reachable/);
  assert.ok(!(down.stdout + down.stderr).includes('secret-pass'), 'no password in output');
});

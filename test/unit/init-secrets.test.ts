import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { initSecretsCommand } from '../../src/cli/init-secrets.ts';
import { InputError } from '../../src/errors.ts';
import { makeTempDir } from '../helpers/tmp.ts';

// The command reports on stderr; keep the test output clean.
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await work();
  } finally {
    process.stderr.write = write;
  }
}

const firstLine = (path: string) => readFileSync(path, 'utf8').split('\n')[0] ?? '';

test('init-secrets creates the JWT key, the password and a matching URL, 0640, once', async (t) => {
  const root = makeTempDir(t);
  const dir = join(root, 'app');
  const dbDir = join(root, 'db');
  assert.equal(await quietly(() => initSecretsCommand.run({ dir, 'db-dir': dbDir }, [])), 0);

  const jwt = firstLine(join(dir, 'jwt_secret'));
  const password = firstLine(join(dbDir, 'postgres_password'));
  const url = new URL(firstLine(join(dir, 'database_url')));
  assert.ok(Buffer.byteLength(jwt) >= 32, 'HS256 needs at least 32 bytes');
  assert.match(password, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(url.protocol, 'postgres:');
  assert.equal(url.username, 'sage');
  assert.equal(decodeURIComponent(url.password), password);
  assert.equal(url.host, 'sage-db:5432');
  assert.equal(url.pathname, '/sage');
  for (const f of [join(dir, 'jwt_secret'), join(dir, 'database_url'), join(dbDir, 'postgres_password')]) {
    assert.equal(statSync(f).mode & 0o777, 0o640, f);
  }

  // A second run (every `compose up`) keeps everything as it is.
  const before = [jwt, password, url.href];
  assert.equal(await quietly(() => initSecretsCommand.run({ dir, 'db-dir': dbDir, 'db-host': 'elsewhere' }, [])), 0);
  assert.deepEqual([firstLine(join(dir, 'jwt_secret')), firstLine(join(dbDir, 'postgres_password')), new URL(firstLine(join(dir, 'database_url'))).href], before);
});

test('init-secrets builds the URL from a password the user supplied (escaped)', async (t) => {
  const dir = makeTempDir(t);
  writeFileSync(join(dir, 'postgres_password'), 'p@ss:w/rd #1 long enough\n');
  assert.equal(await quietly(() => initSecretsCommand.run({ dir, 'db-host': 'db.internal', 'db-port': '6543', 'db-user': 'app', 'db-name': 'memory' }, [])), 0);
  const url = new URL(firstLine(join(dir, 'database_url')));
  assert.equal(decodeURIComponent(url.password), 'p@ss:w/rd #1 long enough');
  assert.equal(url.host, 'db.internal:6543');
  assert.equal(url.username, 'app');
  assert.equal(url.pathname, '/memory');
  assert.equal(firstLine(join(dir, 'postgres_password')), 'p@ss:w/rd #1 long enough', 'the supplied file is untouched');
});

test('init-secrets refuses bad names before writing anything', async (t) => {
  const dir = makeTempDir(t);
  await assert.rejects(() => initSecretsCommand.run({ dir, 'db-user': 'Robert"; DROP' }, []), InputError);
  await assert.rejects(() => initSecretsCommand.run({ dir, 'db-port': '70000' }, []), InputError);
  await assert.rejects(() => initSecretsCommand.run({}, []), /--dir is required/);
  assert.equal(existsSync(join(dir, 'jwt_secret')), false);
});

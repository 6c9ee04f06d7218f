import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, requireDatabaseUrl } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { makeTempDir } from '../helpers/tmp.ts';

test('defaults apply when nothing is set', () => {
  const c = loadConfig(['project', 'tenant', 'vectorDimension', 'httpHost', 'httpPort', 'logLevel'], {}, {});
  assert.deepEqual(c, { project: 'default', tenant: 'local', vectorDimension: 2 ** 20, httpHost: '127.0.0.1', httpPort: 8080, logLevel: 'info' });
});

test('flags beat environment, environment beats files', (t) => {
  const dir = makeTempDir(t);
  const file = path.join(dir, 'url');
  writeFileSync(file, 'postgres://from-file@127.0.0.1/db\n');
  const env = { DATABASE_URL_FILE: file, SAGE_PROJECT: 'env-project' };
  assert.equal(loadConfig(['databaseUrl'], {}, env).databaseUrl, 'postgres://from-file@127.0.0.1/db');
  assert.equal(loadConfig(['databaseUrl'], {}, { ...env, DATABASE_URL: 'postgres://from-env@h/db' }).databaseUrl, 'postgres://from-env@h/db');
  assert.equal(loadConfig(['databaseUrl'], { 'database-url': 'postgres://from-flag@h/db' }, { ...env, DATABASE_URL: 'postgres://x@h/db' }).databaseUrl, 'postgres://from-flag@h/db');
  assert.equal(loadConfig(['project'], {}, env).project, 'env-project');
  assert.equal(loadConfig(['project'], { project: 'flag-project' }, env).project, 'flag-project');
});

test('a bad value is one clear line naming its source', () => {
  assert.throws(() => loadConfig(['vectorDimension'], {}, { SAGE_VECTOR_DIMENSION: '1000' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^SAGE_VECTOR_DIMENSION: must be a power of two/);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
  assert.throws(() => loadConfig(['httpPort'], { port: 'eighty' }, {}), /--port: must be a whole number \(got "eighty"\)/);
  assert.throws(() => loadConfig(['httpPort'], {}, { SAGE_HTTP_PORT: '70000' }), /SAGE_HTTP_PORT: must be a port number, 0 to 65535/);
  assert.throws(() => loadConfig(['dbPoolMax'], {}, { SAGE_DB_POOL_MAX: '0' }), /SAGE_DB_POOL_MAX: must be at least 1/);
  assert.throws(() => loadConfig(['dbPoolMax'], {}, { SAGE_DB_POOL_MAX: '2.5' }), /SAGE_DB_POOL_MAX: must be a whole number/);
  assert.throws(() => loadConfig(['dbPoolMax'], {}, { SAGE_DB_POOL_MAX: '500' }), /SAGE_DB_POOL_MAX: .*200/);
  assert.equal(loadConfig(['httpPort'], {}, { SAGE_HTTP_PORT: '0' }).httpPort, 0);
  assert.throws(() => loadConfig(['databaseUrl'], {}, { DATABASE_URL: 'mysql://x' }), /DATABASE_URL: must be a postgres/);
  assert.throws(() => loadConfig(['tenant'], {}, { SAGE_TENANT: 'a\u0001b' }), /SAGE_TENANT: must not contain control characters/);
});

test('an unreadable secret file is reported without its content', () => {
  assert.throws(() => loadConfig(['databaseUrl'], {}, { DATABASE_URL_FILE: '/nonexistent/secret' }), /DATABASE_URL_FILE=\/nonexistent\/secret cannot be read \(ENOENT\)/);
});

test('a missing database URL says how to set it', () => {
  assert.throws(() => requireDatabaseUrl(undefined), /DATABASE_URL is not set: pass --database-url/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { localSocketPath, privateDirProblem } from '../../src/transport/local-socket.ts';
import { makeTempDir } from '../helpers/tmp.ts';

test('the hook socket is named by database and tenant, never by the password', () => {
  const a = localSocketPath(undefined, 'postgres://sage:one@db:5432/sage', 'local')!;
  assert.equal(a.replace(/[0-9a-f]{16}/, 'HASH'), `/tmp/sage-${process.getuid!()}/hook-HASH.sock`);
  assert.equal(localSocketPath(undefined, 'postgres://sage:two@db:5432/sage', 'local'), a, 'a rotated password is the same Sage');
  assert.notEqual(localSocketPath(undefined, 'postgres://sage:one@db:5432/sage', 'bob'), a, 'another tenant');
  assert.notEqual(localSocketPath(undefined, 'postgres://sage:one@db:5432/other', 'local'), a, 'another database');
  assert.notEqual(localSocketPath(undefined, 'postgres://sage:one@db2:5432/sage', 'local'), a, 'another server');
  assert.ok(!a.includes('one'));
  for (const same of ['postgresql://sage:one@db/sage', 'postgres://sage@DB:5432/sage?sslmode=require']) {
    assert.equal(localSocketPath(undefined, same, 'local'), a, `${same} names the same database`);
  }
  assert.notEqual(localSocketPath(undefined, 'postgres://admin:one@db:5432/sage', 'local'), a, 'another role');
  assert.notEqual(localSocketPath(undefined, 'postgres://sage:one@db:5433/sage', 'local'), a, 'another port');
  const viaSocketDir = localSocketPath(undefined, 'postgres://sage@/sage?host=/var/run/postgresql', 'local');
  assert.notEqual(viaSocketDir, localSocketPath(undefined, 'postgres://sage@/sage?host=/tmp', 'local'), 'another Unix-socket directory');
  assert.equal(localSocketPath('off', 'postgres://db/sage', 'local'), null);
  assert.equal(localSocketPath('/srv/sage/hook.sock', 'postgres://db/sage', 'local'), '/srv/sage/hook.sock');
});

test('only a private directory of this user may hold the socket', (t) => {
  const dir = makeTempDir(t);
  const own = path.join(dir, 'own');
  mkdirSync(own, { mode: 0o700 });
  assert.equal(privateDirProblem(own), null);
  const open = path.join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o750);
  assert.match(privateDirProblem(open)!, /open to other users \(mode 750; expected 700\)/);
  const link = path.join(dir, 'link');
  symlinkSync(own, link);
  assert.match(privateDirProblem(link)!, /is not a directory/);
  assert.match(privateDirProblem(path.join(dir, 'missing'))!, /cannot be examined \(ENOENT\)/);
  if (process.getuid!() === 0) {
    const foreign = path.join(dir, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    chownSync(foreign, 65532, 65532);
    assert.match(privateDirProblem(foreign)!, /belongs to uid 65532, not to this user \(0\)/);
  }
});

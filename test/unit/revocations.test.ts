import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RevocationList } from '../../src/auth/revocations.ts';
import { UnavailableError } from '../../src/errors.ts';
import { setLogLevel } from '../../src/log.ts';
import { REREAD_MS, type RevocationRow } from '../../src/store/revocations.ts';

setLogLevel('silent');

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const principal = (subject: string | undefined, issuedAtMs: number | undefined, tokenId?: string) => ({
  tenant: 't',
  scopes: new Set<never>(),
  subject,
  issuedAt: issuedAtMs === undefined ? undefined : Math.floor(issuedAtMs / 1000),
  tokenId,
});

function fixture() {
  const rows: RevocationRow[] = [];
  let clock = T0;
  let reads = 0;
  let failing = false;
  const list = new RevocationList({
    maxAgeMs: 2000,
    now: () => clock,
    // As store/revocations.ts: everything, or what was revoked from a minute before `since` on.
    read: async (since) => {
      reads++;
      await new Promise((r) => setImmediate(r));
      if (failing) throw new Error('connect ECONNREFUSED');
      return rows.filter((r) => since === undefined || r.revokedAt.getTime() >= since.getTime() - REREAD_MS);
    },
  });
  const add = (r: Omit<RevocationRow, 'id' | 'revokedAt' | 'reason'>, revokedAt = clock, id = rows.length + 1) => rows.push({ id, reason: null, revokedAt: new Date(revokedAt), ...r });
  return {
    list,
    add,
    tick: (ms: number) => (clock += ms),
    reads: () => reads,
    fail: (on: boolean) => (failing = on),
  };
}

test('a subject’s revocation refuses its tokens issued before it (and those without iat), not later ones or other subjects', async () => {
  const f = fixture();
  f.add({ subject: 'alice', issuedBefore: new Date(T0 + 500), jti: null });
  assert.match((await f.list.revoked(principal('alice', T0 - 86_400_000)))!, /tokens of this subject issued before 2026-11-30T12:00:00.500Z have been revoked/);
  assert.ok(await f.list.revoked(principal('alice', T0 + 400)), 'issued in the same second, before it: iat reads as older');
  assert.ok(await f.list.revoked(principal('alice', undefined)), 'no iat: cannot be shown to be newer');
  assert.equal(await f.list.revoked(principal('alice', T0 + 1000)), undefined, 'the next second: newer');
  assert.equal(await f.list.revoked(principal('bob', T0 - 1000)), undefined);
  assert.equal(await f.list.revoked(principal(undefined, T0 - 1000)), undefined);
});

test('a jti revocation refuses that token only', async () => {
  const f = fixture();
  f.add({ subject: null, issuedBefore: null, jti: 'j-1' });
  assert.equal(await f.list.revoked(principal('alice', T0, 'j-1')), 'the token has been revoked');
  assert.equal(await f.list.revoked(principal('alice', T0, 'j-2')), undefined);
});

test('the copy is read again when older than maxAgeMs, only the new rows, once for concurrent checks', async () => {
  const f = fixture();
  assert.equal(await f.list.revoked(principal('alice', T0)), undefined);
  assert.equal(f.reads(), 1);
  f.add({ subject: 'alice', issuedBefore: new Date(T0 + 10_000), jti: null });
  f.tick(1999);
  assert.equal(await f.list.revoked(principal('alice', T0)), undefined, 'within maxAgeMs the copy answers');
  assert.equal(f.reads(), 1);
  f.tick(1);
  const answers = await Promise.all([1, 2, 3].map(() => f.list.revoked(principal('alice', T0))));
  assert.ok(answers.every((a) => a !== undefined));
  assert.equal(f.reads(), 2, 'three concurrent checks, one read');
});

test('an unreadable list keeps the last copy and is retried after maxAgeMs; never read, tokens are refused as unavailable', async () => {
  const never = fixture();
  never.fail(true);
  await assert.rejects(never.list.revoked(principal('bob', T0)), (err: unknown) => err instanceof UnavailableError && /revocation list cannot be read \(connect ECONNREFUSED\)/.test(err.message));
  never.fail(false);
  never.tick(2000);
  assert.equal(await never.list.revoked(principal('bob', T0)), undefined, 'readable again');

  const f = fixture();
  f.add({ subject: 'alice', issuedBefore: new Date(T0 + 10_000), jti: null });
  assert.ok(await f.list.revoked(principal('alice', T0)));
  f.fail(true);
  f.tick(2000);
  assert.ok(await f.list.revoked(principal('alice', T0)), 'the last copy still refuses');
  assert.equal(await f.list.revoked(principal('bob', T0)), undefined);
  assert.equal(f.reads(), 2, 'one failed read, not one per check');
  f.add({ subject: 'bob', issuedBefore: new Date(T0 + 10_000), jti: null });
  f.fail(false);
  f.tick(2000);
  assert.ok(await f.list.revoked(principal('bob', T0)), 'caught up once readable');
});

test('a revocation that commits after a later one (concurrent sage revoke) is still read', async () => {
  const f = fixture();
  f.tick(10_000);
  f.add({ subject: 'bob', issuedBefore: new Date(T0 + 10_000), jti: null }, T0 + 10_000, 2);
  assert.ok(await f.list.revoked(principal('bob', T0)));
  // Began half a second before bob's (its revoked_at and its id, 1, are older), committed after this server read.
  f.add({ subject: null, issuedBefore: null, jti: 'late' }, T0 + 9_500, 1);
  f.tick(2000);
  assert.equal(await f.list.revoked(principal('carol', T0, 'late')), 'the token has been revoked');
});

test('the copy ages by a monotonic clock: the wall clock set back an hour does not keep it from being read again', async (t) => {
  const realNow = Date.now;
  let wall = realNow();
  Date.now = () => wall;
  t.after(() => (Date.now = realNow));
  const rows: RevocationRow[] = [];
  const list = new RevocationList({ maxAgeMs: 50, read: async () => rows });
  assert.equal(await list.revoked(principal('alice', T0)), undefined);
  wall -= 3_600_000;
  rows.push({ id: 1, subject: 'alice', issuedBefore: new Date(T0 + 10_000), jti: null, reason: null, revokedAt: new Date(T0) });
  await new Promise((r) => setTimeout(r, 80));
  assert.ok(await list.revoked(principal('alice', T0)), 'read again after maxAgeMs of real time');
});

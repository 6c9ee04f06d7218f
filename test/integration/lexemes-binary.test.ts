/**
 * The binary tsvector that import sends (tsvectorBinary, read by PostgreSQL's tsvectorrecv) is
 * the same value as the literal a save sends (tsvectorLiteral, read by tsvectorin): compared
 * by PostgreSQL itself, as text and with tsvector equality, on the awkward cases.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { deriveForImport, derive } from '../../src/memory/derive.ts';
import { tsvectorBinary, tsvectorLiteral, type Weight } from '../../src/store/lexemes.ts';
import { createTestDatabase } from '../helpers/postgres.ts';

type Runs = Array<{ terms: string[]; weight: Weight }>;

const CASES: Array<[string, Runs]> = [
  ['empty', []],
  ['no terms', [{ terms: [], weight: 'A' }]],
  ['weights and repeats', [{ terms: ['pool', 'size', 'pool'], weight: 'A' }, { terms: ['pool'], weight: 'B' }]],
  ['quotes and backslashes', [{ terms: ["it's", 'a\\b', "''", '\\', 'x y', ':1A', 'a,b'], weight: 'A' }]],
  ['unicode', [{ terms: ['数据库', '数据', 'é', 'ﬁ', '🚀x', 'straße', 'ключ'], weight: 'A' }, { terms: ['数据'], weight: 'C' }]],
  ['unsorted lexemes', [{ terms: ['zeta', 'alpha', 'Beta', 'beta', 'äpfel', 'apfel', 'a', 'ab', 'aa'], weight: 'D' }]],
  ['more than 255 positions', [{ terms: Array.from({ length: 1000 }, () => 'x'), weight: 'A' }]],
  ['too long a lexeme', [{ terms: ['y'.repeat(3000), 'ok', '界'.repeat(700), '界'.repeat(682)], weight: 'A' }]],
  [
    'positions past the cap of 16383, across runs',
    [
      { terms: Array.from({ length: 17000 }, (_, i) => (i % 3 === 0 ? 'same' : `t${i % 500}`)), weight: 'A' },
      { terms: ['same', 'late', 'late'], weight: 'B' },
    ],
  ],
];

/** A client on a fresh database; closed before the database is dropped. */
async function connect(t: { after(fn: () => unknown): void }): Promise<pg.Client> {
  const database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  t.after(async () => {
    await client.end();
    await database.drop();
  });
  await client.connect();
  return client;
}

test('binary tsvectors are the values of their literals', async (t) => {
  const client = await connect(t);
  for (const [name, runs] of CASES) {
    const literal = tsvectorLiteral(runs);
    const binary = tsvectorBinary(runs);
    const res = await client.query<{ same: boolean; lit: string; bin: string; n: number }>(
      `SELECT $1::tsvector = $2::tsvector AS same, $1::tsvector::text AS lit, $2::tsvector::text AS bin, length($2::tsvector) AS n`,
      [literal, binary],
    );
    const row = res.rows[0]!;
    assert.equal(row.bin, row.lit, name);
    assert.ok(row.same, name);
    if (name === 'too long a lexeme') assert.equal(row.n, 2, 'a lexeme over 2 KiB is left out in both forms');
  }
});

test('import derives the same hash, vector, keys and lexemes as a save', async (t) => {
  const client = await connect(t);
  const samples: Array<[string | null, string, string[]]> = [
    ['How do we parse dates?', 'We use Temporal.PlainDate and reject two-digit years in src/parse.ts.', ['Parser', 'dates']],
    [null, '数据库连接池的大小是二十。', ['数据库']],
    [null, "It's a \\ backslash 'quote' test: getUserName() HTTPServer v1.2.3", []],
  ];
  for (const [user, content, tags] of samples) {
    const a = derive(user ? 'turn' : 'fact', user, content, tags, { dimension: 2 ** 20 });
    const b = deriveForImport(user ? 'turn' : 'fact', user, content, tags, { dimension: 2 ** 20 });
    assert.deepEqual(b.contentHash, a.contentHash);
    assert.deepEqual(b.vector, a.vector);
    assert.deepEqual(Array.from(b.vectorKeys), Array.from(a.vectorKeys));
    const res = await client.query<{ lit: string; bin: string }>(`SELECT $1::tsvector::text AS lit, $2::tsvector::text AS bin`, [a.lexemes, b.lexemes]);
    assert.equal(res.rows[0]!.bin, res.rows[0]!.lit);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { literal, quoteText } from '../../src/store/memories.ts';

test("quoteText quotes exactly as pg's escapeLiteral", () => {
  const samples = ['', 'plain', "it's", "''", '\\', 'a\\b', "\\'", "E'\\x41'", '日本語 🚀', ' E\'', '\n\t\r', "x'); DROP TABLE memories; --"];
  // And random strings over the characters that matter.
  const alphabet = ["'", '\\', 'a', ' ', 'E', '"', '\n', 'é'];
  let seed = 7;
  for (let i = 0; i < 500; i++) {
    let s = '';
    const n = i % 13;
    for (let j = 0; j < n; j++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      s += alphabet[seed % alphabet.length];
    }
    samples.push(s);
  }
  for (const s of samples) assert.equal(quoteText(s), pg.escapeLiteral(s), JSON.stringify(s));
});

test('literal renders each value type as PostgreSQL reads it', () => {
  assert.equal(literal(null), 'NULL');
  assert.equal(literal(undefined), 'NULL');
  assert.equal(literal(12), '12');
  assert.throws(() => literal(Number.NaN), /no SQL literal/);
  assert.equal(literal(true), 'true');
  assert.equal(literal(new Date('2025-01-02T03:04:05.678Z')), "'2025-01-02T03:04:05.678Z'");
  assert.equal(literal(new Uint8Array([0, 15, 255])), "E'\\\\x000fff'");
  assert.equal(literal(Int32Array.from([1, -2, 2147483647])), "'{1,-2,2147483647}'");
  assert.equal(literal(["o'neil", 'b\\s']), "ARRAY['o''neil',  E'b\\\\s']");
  assert.equal(literal({ a: "it's" }), `'{"a":"it''s"}'`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anyOfQuery, quoteLexeme, tsvectorLiteral } from '../../src/store/lexemes.ts';

test('lexemes are quoted so that tsvector and tsquery metacharacters are inert', () => {
  assert.equal(quoteLexeme("it's"), "'it''s'");
  assert.equal(quoteLexeme('a\\b'), "'a\\\\b'");
  assert.equal(anyOfQuery(['a', "b'c", 'a']), "'a' | 'b''c'");
  assert.equal(anyOfQuery([]), undefined);
});

test('tsvector literals carry positions and weights per run', () => {
  assert.equal(
    tsvectorLiteral([
      { terms: ['pool', 'size', 'pool'], weight: 'A' },
      { terms: ['pool'], weight: 'B' },
    ]),
    "'pool':1A,3A,12B 'size':2A",
  );
});

test('limits of Postgres tsvector are respected', () => {
  const many = Array.from({ length: 1000 }, () => 'x');
  const literal = tsvectorLiteral([{ terms: many, weight: 'A' }]);
  assert.equal(literal.split(',').length, 255, 'at most 255 positions per lexeme');
  const huge = 'y'.repeat(3000);
  assert.equal(tsvectorLiteral([{ terms: [huge, 'ok'], weight: 'A' }]), "'ok':2A");
});

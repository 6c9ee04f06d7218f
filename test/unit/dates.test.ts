import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dateFit, dateRanges } from '../../src/memory/dates.ts';

const NOW = new Date('2026-01-10T12:00:00Z');
const iso = (q: string) => dateRanges(q, NOW).map((r) => `${r.from.toISOString().slice(0, 10)}..${r.to.toISOString().slice(0, 10)}${r.anyYear ? '*' : ''}`);

test('dates named in a query become UTC ranges, most specific reading first', () => {
  assert.deepEqual(iso('what did we ship on October 13, 2023?'), ['2023-10-13..2023-10-14']);
  assert.deepEqual(iso('notes from 1 February, 2023'), ['2023-02-01..2023-02-02']);
  assert.deepEqual(iso('the 3rd of March, 2021 outage'), ['2021-03-03..2021-03-04']);
  assert.deepEqual(iso('deploys on 2023-10-13 and in 2024-01'), ['2023-10-13..2023-10-14', '2024-01-01..2024-02-01']);
  assert.deepEqual(iso('incident in sept. 2022'), ['2022-09-01..2022-10-01']);
  assert.deepEqual(iso('what broke in July?'), ['2000-07-01..2000-08-01*']);
  assert.deepEqual(iso('memories from 2023'), ['2023-01-01..2024-01-01']);
  assert.deepEqual(iso('what did I fix yesterday'), ['2026-01-09..2026-01-10']);
});

test('text that only looks like a date adds no range', () => {
  assert.deepEqual(iso('may I ask about the pgbouncer pool'), []);
  assert.deepEqual(iso('February 30, 2023'), []);
  assert.deepEqual(iso('port 2023 and version 1.2.3'), []);
  assert.deepEqual(iso('march forward'), []);
});

test('date fit is 1 inside a range and falls linearly to 0 over the slack', () => {
  const ranges = dateRanges('on 2023-10-13', NOW);
  assert.equal(dateFit(new Date('2023-10-13T18:00:00Z'), ranges, 7), 1);
  assert.ok(Math.abs(dateFit(new Date('2023-10-17T00:00:00Z'), ranges, 7) - (1 - 3 / 7)) < 1e-9);
  assert.equal(dateFit(new Date('2023-11-01T00:00:00Z'), ranges, 7), 0);
  assert.equal(dateFit(new Date('2023-10-15T00:00:00Z'), ranges, 0), 0);
  assert.equal(dateFit(new Date('2023-10-15T00:00:00Z'), [], 7), 0);
  const july = dateRanges('in July', NOW);
  assert.equal(dateFit(new Date('2019-07-20T00:00:00Z'), july, 7), 1, 'a month without a year fits that month of any year');
  assert.equal(dateFit(new Date('2019-05-01T00:00:00Z'), july, 7), 0);
});

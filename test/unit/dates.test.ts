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

test('relative dates are anchored at now: days ago, weeks from Monday, months and years (UTC)', () => {
  // NOW is Saturday 2026-01-10.
  assert.deepEqual(iso('what did we change 3 days ago'), ['2026-01-07..2026-01-08']);
  assert.deepEqual(iso('the day before yesterday'), ['2026-01-08..2026-01-09']);
  assert.deepEqual(iso('what is on today'), ['2026-01-10..2026-01-11']);
  assert.deepEqual(iso('the flaky test from last week'), ['2025-12-29..2026-01-05']);
  assert.deepEqual(iso('everything this week'), ['2026-01-05..2026-01-12']);
  assert.deepEqual(iso('the outage last month'), ['2025-12-01..2026-01-01'], 'last month in January is December');
  assert.deepEqual(iso('what we decided last year'), ['2025-01-01..2026-01-01']);
  assert.deepEqual(iso('goals for this year'), ['2026-01-01..2027-01-01']);
  assert.deepEqual(iso('notes of 2023/10/13'), ['2023-10-13..2023-10-14']);
});

test('dates in Chinese: full and partial dates, Chinese numerals, relative words', () => {
  assert.deepEqual(iso('2023年10月13日我们部署了什么'), ['2023-10-13..2023-10-14']);
  assert.deepEqual(iso('2023 年 3 月 5 号的会议'), ['2023-03-05..2023-03-06']);
  assert.deepEqual(iso('2022年7月的事故'), ['2022-07-01..2022-08-01']);
  assert.deepEqual(iso('2022年十二月'), ['2022-12-01..2023-01-01']);
  assert.deepEqual(iso('10月13号讨论的缓存方案'), ['2000-10-13..2000-10-14*']);
  assert.deepEqual(iso('七月份的发布'), ['2000-07-01..2000-08-01*']);
  assert.deepEqual(iso('十一月改了什么'), ['2000-11-01..2000-12-01*']);
  assert.deepEqual(iso('2021年的架构'), ['2021-01-01..2022-01-01']);
  assert.deepEqual(iso('今年7月上线的功能'), ['2026-07-01..2026-08-01']);
  assert.deepEqual(iso('去年三月的迁移'), ['2025-03-01..2025-04-01']);
  assert.deepEqual(iso('昨天修的bug'), ['2026-01-09..2026-01-10']);
  assert.deepEqual(iso('前天的讨论'), ['2026-01-08..2026-01-09']);
  assert.deepEqual(iso('三天前的日志'), ['2026-01-07..2026-01-08']);
  assert.deepEqual(iso('上周的部署'), ['2025-12-29..2026-01-05']);
  assert.deepEqual(iso('上个星期'), ['2025-12-29..2026-01-05']);
  assert.deepEqual(iso('这周的计划'), ['2026-01-05..2026-01-12']);
  assert.deepEqual(iso('上个月的决定'), ['2025-12-01..2026-01-01']);
  assert.deepEqual(iso('去年的数据库'), ['2025-01-01..2026-01-01']);
  assert.deepEqual(iso('前年'), ['2024-01-01..2025-01-01']);
});

test('text that only looks like a date adds no range', () => {
  assert.deepEqual(iso('三个月的工作量'), [], 'a duration, not a month');
  assert.deepEqual(iso('每月备份一次'), []);
  assert.deepEqual(iso('13月1日'), [], 'no 13th month');
  assert.deepEqual(iso('src/2023/99/1'), []);
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
  const dayInAnyYear = dateRanges('10月13日', NOW);
  assert.equal(dateFit(new Date('2021-10-13T09:00:00Z'), dayInAnyYear, 7), 1, 'a day without a year fits that day of any year');
  assert.ok(Math.abs(dateFit(new Date('2021-10-16T00:00:00Z'), dayInAnyYear, 7) - (1 - 2 / 7)) < 1e-9);
  assert.equal(dateFit(new Date('2021-11-13T00:00:00Z'), dayInAnyYear, 7), 0);
  const december = dateRanges('in December', NOW);
  assert.equal(dateFit(new Date('2019-12-31T23:00:00Z'), december, 7), 1, 'December ends at New Year');
  assert.ok(dateFit(new Date('2020-01-03T00:00:00Z'), december, 7) > 0.5, 'with slack into January');
});

/**
 * Recall on Chinese developer notes mixed with English and code (test/fixtures/zh-recall.json):
 * every memory is saved through MemoryService.save into a real PostgreSQL 15 database, every
 * query asked through MemoryService.search (hybrid, limit 20), and recall is held above floors
 * set from measured numbers with a margin. Same code path as `npm run bench:recall -- --data
 * test/fixtures/zh-recall.json`, which prints the full table.
 *
 * Measured (hybrid, 47 memories, 56 queries): R@1 0.964, R@5 1.000, MRR 0.982; the plain BM25
 * baseline, which does not segment Chinese, R@5 0.571. The floors sit 0.1 below the measured
 * numbers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadRecallSet } from '../../bench/lib/dataset.ts';
import { runRecall } from '../../bench/lib/run.ts';
import { MemoryService } from '../../src/memory/service.ts';
import { Database } from '../../src/store/db.ts';
import { DEFAULT_DIMENSION } from '../../src/vectorize/index.ts';
import { createTestDatabase } from '../helpers/postgres.ts';

const FIXTURE = new URL('../fixtures/zh-recall.json', import.meta.url);

const FLOOR = { 'r@1': 0.86, 'r@5': 0.9, mrr: 0.88 };
/** Per query type, R@5: misspelt and paraphrased queries are the ones a weak tokenizer loses. */
const TYPE_FLOOR_R5: Record<string, number> = { keyword: 0.9, typo: 0.85, partial: 0.8, paraphrase: 0.9, mixed: 0.8 };

test('Chinese and mixed-script recall stays above its floors', async (t) => {
  const dataset = loadRecallSet(JSON.parse(readFileSync(FIXTURE, 'utf8')) as unknown);
  const corpus = dataset.corpora[0]!;
  assert.ok(corpus.docs.length >= 40, 'the set has at least 40 memories');
  assert.ok(corpus.queries.length >= 25, 'the set has at least 25 queries');

  const database = await createTestDatabase();
  const db = new Database({ url: database.url });
  t.after(async () => {
    await db.close(); // before the drop, which would cut the pool's connections
    await database.drop();
  });
  const service = new MemoryService(db, { dimension: DEFAULT_DIMENSION });

  const report = await runRecall(service, dataset);
  const summary = JSON.stringify({ sage: report.sage, bm25: report.bm25 });
  assert.equal(report.memories, corpus.docs.length, 'every memory is stored (none collapsed as a duplicate)');
  assert.equal(report.questions, corpus.queries.length);
  assert.ok(report.sage['r@1'] >= FLOOR['r@1'], `R@1 ${report.sage['r@1']} < ${FLOOR['r@1']}: ${summary}`);
  assert.ok(report.sage['r@5'] >= FLOOR['r@5'], `R@5 ${report.sage['r@5']} < ${FLOOR['r@5']}: ${summary}`);
  assert.ok(report.sage.mrr >= FLOOR.mrr, `MRR ${report.sage.mrr} < ${FLOOR.mrr}: ${summary}`);
  for (const [type, floor] of Object.entries(TYPE_FLOOR_R5)) {
    const group = report.by_category[type];
    assert.ok(group && group.questions > 0, `the set has ${type} queries`);
    assert.ok(group.sage['r@5'] >= floor, `${type}: R@5 ${group.sage['r@5']} < ${floor}`);
  }
  // Sage must do better than a stock BM25 that cannot segment Chinese.
  assert.ok(report.sage['r@5'] > report.bm25['r@5'], `Sage R@5 ${report.sage['r@5']} is not above BM25 ${report.bm25['r@5']}`);
});

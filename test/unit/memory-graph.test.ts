import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { graphMemories } from '../../src/cli/import-sources.ts';

const FIXTURE = readFileSync(path.resolve(import.meta.dirname, '../fixtures/claude/memory-graph.jsonl'), 'utf8');

test('memory-graph: observations become facts, bare entities notes, relations facts; names and types kept', () => {
  const g = graphMemories(FIXTURE);
  assert.deepEqual(g.invalid, []);
  assert.equal(g.entities, 3, 'the entity named twice is merged');
  assert.equal(g.relations, 2);
  assert.deepEqual(
    g.memories.map((m) => [m.kind, m.content]),
    [
      ['fact', 'Alice_Martin: Leads the payments team'],
      ['fact', 'Alice_Martin: Prefers code review comments in the morning'],
      ['fact', 'Alice_Martin: Speaks fluent Portuguese'],
      ['fact', 'Shop: Checkout uses the Stripe sandbox in CI'],
      ['fact', 'Shop: Deploys every Tuesday after the 10:00 stand-up'],
      ['fact', 'Shop: Uses PostgreSQL 15'],
      ['note', 'Payments_Team (organization)'],
      ['fact', 'Alice_Martin leads Payments_Team'],
      ['fact', 'Payments_Team is responsible for Shop'],
    ],
  );
  const alice = g.memories[0]!;
  assert.deepEqual(alice.tags, ['memory-graph', 'person']);
  assert.deepEqual(alice.metadata, { source: 'memory-graph', entity: 'Alice_Martin', entity_type: 'person' });
  assert.deepEqual(g.memories.at(-1)!.metadata, { source: 'memory-graph', relation: { from: 'Payments_Team', to: 'Shop', type: 'is_responsible_for' } });
});

test('memory-graph: bad lines are reported with their numbers', () => {
  const g = graphMemories('{"type":"entity","name":"A","entityType":"x","observations":["o"]}\nnot json\n{"type":"relation","from":"A"}\n{"type":"other"}\n');
  assert.deepEqual(
    g.invalid.map((b) => b.line),
    [2, 3, 4],
  );
  assert.match(g.invalid[1]!.reason, /to|relationType/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FIELD_CHARS, fitPage, PAGE_TEXT_CHARS, SNIPPET_CHARS } from '../../src/mcp/page-size.ts';

const memory = (id: string, content: string, userPrompt: string | null = null) => ({ id, content, user_prompt: userPrompt, score: 1 });
const textOf = (m: { content: string; user_prompt: string | null }) => m.content.length + (m.user_prompt?.length ?? 0);

test('short memories pass whole and unmarked', () => {
  const page = [memory('a', 'the staging cluster runs on three nodes', 'where does staging run?'), memory('b', 'x'.repeat(900))];
  assert.deepEqual(fitPage(page), page);
});

test('a long text keeps FIELD_CHARS, says how much is left and where the whole memory is', () => {
  const [fitted] = fitPage([memory('m-1', 'a'.repeat(50_000))]);
  assert.equal(fitted!.truncated, true);
  assert.ok(fitted!.content.startsWith('a'.repeat(FIELD_CHARS) + '…'));
  assert.match(fitted!.content, /… \[cut: 44000 more characters; the whole memory is sage:\/\/memory\/m-1\]$/);
});

test('best first: texts stay whole while the page has room; then snippets; the page stays small at 50 results', () => {
  const page = Array.from({ length: 50 }, (_, i) => memory(`m${i}`, `${i} `.padEnd(5_000, 'y'), `question ${i} `.padEnd(1_000, 'q')));
  const fitted = fitPage(page);
  assert.equal(fitted[0]!.truncated, undefined, 'the best keep everything');
  assert.equal(textOf(fitted[0]!), 6_000);
  const total = fitted.reduce((sum, m) => sum + textOf(m), 0);
  // The page's texts, the notes of the cuts included.
  assert.ok(total < PAGE_TEXT_CHARS + 100 * (SNIPPET_CHARS + 100), `page of ${total} characters`);
  assert.ok(fitted.slice(-10).every((m) => m.truncated === true && m.content.startsWith(`${m.id.slice(1)} `)), 'the rest keep their beginnings');
});

test('a cut never splits a surrogate pair', () => {
  const text = 'a'.repeat(FIELD_CHARS - 1) + '\u{20000}'.repeat(10); // a CJK Extension B character: two UTF-16 units
  const [fitted] = fitPage([memory('s', text)]);
  assert.ok(fitted!.content.isWellFormed());
  assert.ok(fitted!.content.startsWith('a'.repeat(FIELD_CHARS - 1) + '…'));
});

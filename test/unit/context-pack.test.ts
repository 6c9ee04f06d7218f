import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packContext } from '../../src/memory/context.ts';

test('a context block cut inside a long memory never splits a surrogate pair (no lone half, which UTF-8 turns into U+FFFD)', () => {
  const memory = {
    id: 'm1',
    project: 'p',
    session: null,
    kind: 'note' as const,
    user_prompt: null,
    content: '\u{20000}'.repeat(2_000), // a CJK Extension B character: two UTF-16 units each
    tags: [],
    metadata: {},
    created_at: '2026-11-30T00:00:00.000Z',
    updated_at: '2026-11-30T00:00:00.000Z',
  };
  for (let budget = 300; budget < 340; budget++) {
    const packed = packContext([{ memory, ranked: undefined as never, folded: [] }], budget, 'Relevant memories:'); // packing reads no ranking
    assert.ok(packed.truncated);
    assert.ok(packed.text.isWellFormed(), `budget ${budget}: a lone surrogate`);
    assert.ok(packed.text.length <= budget, `budget ${budget}: ${packed.text.length} characters`);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceFixture } from '../helpers/service.ts';

test('bad inputs get clear errors or safe handling, and nothing stored is lost', async (t) => {
  const { service, caller } = await serviceFixture(t);
  const keep = await service.save(caller, { kind: 'turn', userText: 'Where are the CI logs?', content: 'CI logs are kept for 30 days in the artifacts bucket.' });
  const before = await service.get(caller, keep.id);

  // Empty and whitespace-only texts.
  await assert.rejects(service.save(caller, { kind: 'turn', userText: '', content: '' }), /user_prompt and assistant_response are both empty/);
  await assert.rejects(service.save(caller, { kind: 'turn', userText: '  \n', content: '\t ' }), /both empty/);
  await assert.rejects(service.save(caller, { kind: 'note', content: '   ' }), /content is empty/);
  await assert.rejects(service.search(caller, { query: '' }), /query is empty/);
  await assert.rejects(service.search(caller, { query: '   ' }), /query is empty/);
  await assert.rejects(service.context(caller, { query: '' }), /query is empty/);

  // A 1 MB text is refused with what to do; a 199 KB one is stored.
  const huge = 'x'.repeat(1024 * 1024);
  await assert.rejects(service.save(caller, { kind: 'note', content: huge }), /has 1048576 characters; the limit is 200000\. Split it/);
  const big = await service.save(caller, { kind: 'note', content: 'big '.repeat(49_000) + 'needle-word' });
  assert.equal((await service.get(caller, big.id)).content.length, 196_011);
  await assert.rejects(service.search(caller, { query: huge }), /limit is 200000|longer than 10000/);

  // U+0000 and lone surrogates: replaced, reported, stored, searchable.
  const nul = await service.save(caller, { kind: 'note', content: 'binary\u0000junk from a log file' });
  assert.match(nul.warnings.join(' '), /NUL characters \(U\+0000\) were replaced/);
  assert.equal((await service.get(caller, nul.id)).content, 'binary\uFFFDjunk from a log file');
  const lone = await service.save(caller, { kind: 'note', content: 'emoji half \uD83D here' });
  assert.match(lone.warnings.join(' '), /lone surrogate/);
  assert.equal((await service.get(caller, lone.id)).content, 'emoji half \uFFFD here');
  await service.search(caller, { query: 'junk \u0000 \uDC00' });

  // SQL and tsquery metacharacters in queries are just text.
  for (const query of ["'; DROP TABLE memories; --", "a & b | !c <-> d:* ''", '\\', '(((', 'CI logs\' OR 1=1 --', '%_*?', '$1 $2']) {
    const page = await service.search(caller, { query });
    assert.ok(Array.isArray(page.results), query);
  }
  assert.equal((await service.search(caller, { query: "logs' | 'artifacts" })).results[0]?.id, keep.id);

  // Unknown ids and sessions.
  await assert.rejects(service.get(caller, '11111111-1111-4111-8111-111111111111'), /no memory with id/);
  await assert.rejects(service.get(caller, "1' OR '1'='1"), /is not a memory id/);
  await assert.rejects(service.session(caller, 'no-such-session'), /no session "no-such-session"/);
  await assert.rejects(service.forget(caller, { ids: ['11111111-1111-4111-8111-111111111111'] }), /nothing was forgotten/);

  // Wrong shapes that got past a schema (defence in depth at the service).
  await assert.rejects(service.save(caller, { kind: 'note', content: 'x', tags: [''] }), /tags must not be empty/);
  await assert.rejects(service.save(caller, { kind: 'note', content: 'x', tags: Array.from({ length: 40 }, (_, i) => `t${i}`) }), /at most 32 tags/);
  await assert.rejects(service.save(caller, { kind: 'note', content: 'x', metadata: { blob: 'y'.repeat(20_000) } }), /metadata is larger than/);
  await assert.rejects(service.save(caller, { kind: 'note', content: 'x', project: '' }), /project must not be empty/);
  await assert.rejects(service.save(caller, { kind: 'note', content: 'x', session: 'a\nb' }), /session must not contain control characters/);
  await assert.rejects(service.save(caller, { kind: 'note', userText: 'q', content: 'x' }), /a note has no user_prompt/);

  // Nothing stored was lost or changed by any of this.
  assert.deepEqual(await service.get(caller, keep.id), before);
  const status = await service.status(caller);
  assert.equal(status.counts?.memories, 4);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { InputError } from '../../src/errors.ts';
import { buildPlan, isSageHook, mergeHooks, shellQuote, withProject } from '../../src/cli/setup.ts';

test('shell quoting survives the shell', () => {
  for (const s of ['/usr/local/bin/sage', "/home/o'brien/my tools/sage", 'a$b`c"d\\e', '']) {
    assert.equal(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(s) || "''"}`], { encoding: 'utf8' }), s);
  }
  assert.equal(shellQuote('/usr/local/bin/sage'), '/usr/local/bin/sage');
});

test('Sage hooks are recognised in every mode, other commands are not', () => {
  for (const mode of ['binary', 'docker', 'http'] as const) {
    const plan = buildPlan({ mode, binary: "/opt/my tools/sage", container: 'sage', url: 'https://s.example/mcp', tokenFile: '/t', env: { DATABASE_URL_FILE: '/etc/sage/url' } });
    for (const groups of Object.values(plan.hooks)) assert.ok(isSageHook(groups[0]!.hooks[0]!.command), `${mode}: ${groups[0]!.hooks[0]!.command}`);
  }
  assert.ok(!isSageHook('notify-send "sage says hi"'));
  assert.ok(!isSageHook('message-hook stop'));
  assert.ok(!isSageHook(42));
});

test('binary mode passes DATABASE_URL_FILE, never a URL with a password', () => {
  const plan = buildPlan({ mode: 'binary', binary: 'sage', container: 'sage', env: { DATABASE_URL_FILE: '/etc/sage/url' } });
  assert.equal(plan.hooks.UserPromptSubmit[0]!.hooks[0]!.command, 'DATABASE_URL_FILE=/etc/sage/url sage hook prompt');
  assert.equal(plan.mcpAdd, 'claude mcp add --scope user -e DATABASE_URL_FILE=/etc/sage/url sage -- sage stdio');
  assert.deepEqual(plan.mcpEntry, { type: 'stdio', command: 'sage', args: ['stdio'], env: { DATABASE_URL_FILE: '/etc/sage/url' } });
  assert.throws(() => buildPlan({ mode: 'http', binary: 'sage', container: 'sage', env: {} }), /--url/);
});

test('merging refuses shapes it does not understand, and keeps unknown entries', () => {
  const plan = buildPlan({ mode: 'binary', binary: 'sage', container: 'sage', env: {} });
  assert.throws(() => mergeHooks({ hooks: [] }, plan.hooks), InputError);
  assert.throws(() => mergeHooks({ hooks: { Stop: {} } }, plan.hooks), InputError);
  const merged = mergeHooks({ hooks: { Stop: ['odd entry', { matcher: '', hooks: [{ type: 'command', command: 'sage hook stop' }, { type: 'command', command: 'other' }] }] } }, plan.hooks) as {
    hooks: { Stop: unknown[] };
  };
  assert.deepEqual(merged.hooks.Stop.slice(0, 2), ['odd entry', { matcher: '', hooks: [{ type: 'command', command: 'other' }] }]);
  assert.equal(merged.hooks.Stop.length, 3);
});

test('a project-scope entry pins the project; http and user-scope entries are left alone', () => {
  assert.deepEqual(withProject({ type: 'stdio', command: 'sage', args: ['stdio'] }, 'shop').args, ['stdio', '--project', 'shop']);
  assert.deepEqual(withProject({ type: 'stdio', command: 'sage', args: ['stdio'] }, undefined).args, ['stdio']);
  assert.deepEqual(withProject({ type: 'http', url: 'https://x/mcp' }, 'shop'), { type: 'http', url: 'https://x/mcp' });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { gitProjectName, parseProjectMap, resolveProject } from '../../src/claude/project.ts';
import { ConfigError } from '../../src/errors.ts';
import { makeTempDir } from '../helpers/tmp.ts';

test('the git repository root names the project, from any subdirectory; worktrees share the main name', (t) => {
  const root = makeTempDir(t);
  const repo = path.join(root, 'shop');
  mkdirSync(path.join(repo, '.git'), { recursive: true });
  mkdirSync(path.join(repo, 'src', 'payments'), { recursive: true });
  assert.equal(gitProjectName(repo), 'shop');
  assert.equal(gitProjectName(path.join(repo, 'src', 'payments')), 'shop');
  // A linked worktree: `.git` is a file pointing into the main repository.
  const wt = path.join(root, 'shop-hotfix');
  mkdirSync(wt);
  writeFileSync(path.join(wt, '.git'), `gitdir: ${path.join(repo, '.git', 'worktrees', 'shop-hotfix')}\n`);
  assert.equal(gitProjectName(wt), 'shop');
  // A submodule: `.git` file pointing into the parent's modules: its own name.
  const sub = path.join(repo, 'vendor', 'lib');
  mkdirSync(sub, { recursive: true });
  writeFileSync(path.join(sub, '.git'), 'gitdir: ../../.git/modules/lib\n');
  assert.equal(gitProjectName(sub), 'lib');
  assert.equal(gitProjectName(path.join(root, 'nowhere')), undefined);
  assert.equal(resolveProject({ cwd: path.join(repo, 'src'), fallback: 'default' }).project, 'shop');
  assert.equal(resolveProject({ cwd: path.join(repo, 'src'), fallback: 'default' }).how, 'git');
});

test('the map wins over git, longest prefix first; the flag wins over everything', (t) => {
  const root = makeTempDir(t);
  const repo = path.join(root, 'mono');
  mkdirSync(path.join(repo, '.git'), { recursive: true });
  mkdirSync(path.join(repo, 'services', 'billing'), { recursive: true });
  const map = parseProjectMap(`${repo}=mono\n${repo}/services/billing=billing\n# comment`);
  assert.deepEqual(resolveProject({ cwd: path.join(repo, 'services', 'billing', 'src'), map, fallback: 'd' }), { project: 'billing', how: 'map' });
  assert.deepEqual(resolveProject({ cwd: path.join(repo, 'services'), map, fallback: 'd' }), { project: 'mono', how: 'map' });
  // "/x/mono2" is not inside "/x/mono".
  assert.equal(resolveProject({ cwd: `${repo}2`, map, fallback: 'd' }).how !== 'map', true);
  assert.deepEqual(resolveProject({ cwd: repo, map, explicit: 'chosen', fallback: 'd' }), { project: 'chosen', how: 'flag' });
});

test('map syntax: JSON object or DIR=NAME entries; bad maps are configuration errors', () => {
  assert.deepEqual(parseProjectMap(undefined), []);
  assert.deepEqual(parseProjectMap('{"/srv/a": "alpha", "/srv/b/": "beta"}'), [
    { dir: '/srv/a', project: 'alpha' },
    { dir: '/srv/b', project: 'beta' },
  ]);
  assert.deepEqual(parseProjectMap('/srv/a=alpha; /srv/c = gamma '), [
    { dir: '/srv/a', project: 'alpha' },
    { dir: '/srv/c', project: 'gamma' },
  ]);
  assert.deepEqual(parseProjectMap('~/work=w'), [{ dir: path.join(homedir(), 'work'), project: 'w' }]);
  assert.throws(() => parseProjectMap('/srv/a'), ConfigError);
  assert.throws(() => parseProjectMap('{"/srv/a": 3}'), ConfigError);
  assert.throws(() => parseProjectMap('{nope'), ConfigError);
  assert.throws(() => parseProjectMap('/srv/a='), ConfigError);
});

test('paths this process cannot see (Sage in a container): CLAUDE_PROJECT_DIR, then the cwd, name the project', () => {
  const hostOnly = '/home/alice-not-here/src/shop';
  assert.deepEqual(resolveProject({ cwd: `${hostOnly}/web`, projectDir: hostOnly, fallback: 'default' }), { project: 'shop', how: 'directory' });
  assert.deepEqual(resolveProject({ cwd: `${hostOnly}/web`, fallback: 'default' }), { project: 'web', how: 'directory' });
  // The map is plain string matching, so it works for host paths too.
  assert.deepEqual(resolveProject({ cwd: `${hostOnly}/web`, map: parseProjectMap(`${hostOnly}=storefront`), fallback: 'default' }), { project: 'storefront', how: 'map' });
});

test('nothing meaningful: the configured default project', () => {
  assert.deepEqual(resolveProject({ cwd: '/', fallback: 'default' }), { project: 'default', how: 'default' });
  assert.deepEqual(resolveProject({ cwd: homedir(), fallback: 'fallback' }), { project: 'fallback', how: 'default' });
  assert.deepEqual(resolveProject({ cwd: null, projectDir: '', fallback: 'x' }), { project: 'x', how: 'default' });
});

test('workspaceProject: --project, then SAGE_PROJECT, then the workspace, then "default" (stdio and hooks alike)', async (t) => {
  const { workspaceProject } = await import('../../src/claude/project.ts');
  const { mkdirSync, mkdtempSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const pathMod = await import('node:path');
  const root = mkdtempSync(pathMod.join(os.tmpdir(), 'sage-ws-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const repo = pathMod.join(root, 'billing-service');
  mkdirSync(pathMod.join(repo, '.git'), { recursive: true });
  mkdirSync(pathMod.join(repo, 'src'));
  const inRepo = pathMod.join(repo, 'src');
  assert.deepEqual(workspaceProject({}, inRepo, {}), { project: 'billing-service', how: 'git' });
  assert.deepEqual(workspaceProject({}, inRepo, { SAGE_PROJECT: 'payments' }), { project: 'payments', how: 'flag' });
  assert.deepEqual(workspaceProject({ project: 'cli' }, inRepo, { SAGE_PROJECT: 'payments' }), { project: 'cli', how: 'flag' });
  assert.deepEqual(workspaceProject({}, '/', {}), { project: 'default', how: 'default' });
  assert.deepEqual(workspaceProject({}, '/', { SAGE_PROJECT_MAP: `${repo}=billing` }), { project: 'default', how: 'default' });
  assert.deepEqual(workspaceProject({}, inRepo, { SAGE_PROJECT_MAP: `${repo}=billing` }), { project: 'billing', how: 'map' });
});

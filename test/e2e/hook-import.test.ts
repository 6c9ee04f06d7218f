/**
 * `sage import claude-transcripts DIR` and `sage import memory-graph FILE` as a user runs them,
 * and `sage setup claude --write`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase } from '../helpers/postgres.ts';
import { runSageProcess, type ProcessResult } from '../helpers/process.ts';
import { makeTempDir } from '../helpers/tmp.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/claude');
const SESSION = '5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d';
const BLOG_SESSION = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';

function run(args: string[], env: Record<string, string>, stdin = ''): Promise<ProcessResult> {
  return runSageProcess(args, { env, stdin });
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** A ~/.claude/projects tree: two sessions in two projects, a subagent file, a broken file. */
function projectsTree(root: string): string {
  const projects = path.join(root, 'projects');
  const shop = path.join(projects, '-home-alice-src-shop');
  mkdirSync(path.join(shop, SESSION, 'subagents'), { recursive: true });
  copyFileSync(path.join(FIXTURES, 'transcript.jsonl'), path.join(shop, `${SESSION}.jsonl`));
  // A subagent's own transcript (sidechain): not a session.
  writeFileSync(
    path.join(shop, SESSION, 'subagents', 'agent-a1b2c3d4.jsonl'),
    JSON.stringify({ type: 'user', isSidechain: true, uuid: 'x1', sessionId: SESSION, cwd: '/home/alice/src/shop', message: { role: 'user', content: 'SUBAGENT-FILE prompt' } }) + '\n',
  );
  const blog = path.join(projects, '-home-alice-src-blog');
  mkdirSync(blog);
  const common = { isSidechain: false, userType: 'external', cwd: '/home/alice/src/blog', sessionId: BLOG_SESSION, version: '2.0.14', gitBranch: 'draft' };
  writeFileSync(
    path.join(blog, `${BLOG_SESSION}.jsonl`),
    [
      JSON.stringify({ type: 'summary', summary: 'RSS feed', leafUuid: 'b2' }),
      JSON.stringify({ ...common, parentUuid: null, type: 'user', uuid: 'b1', timestamp: '2025-11-02T20:00:00.000Z', message: { role: 'user', content: 'Add an RSS feed to the blog' } }),
      JSON.stringify({
        ...common,
        parentUuid: 'b1',
        type: 'assistant',
        uuid: 'b2',
        timestamp: '2025-11-02T20:00:30.000Z',
        message: { id: 'msg_b', role: 'assistant', content: [{ type: 'text', text: 'Added /feed.xml generated from the posts collection with @astrojs/rss.' }] },
      }),
    ].join('\n') + '\n',
  );
  mkdirSync(path.join(projects, '-tmp'));
  writeFileSync(path.join(projects, '-tmp', 'notes.jsonl'), 'garbage\n{"type":"file-history-snapshot"}\n');
  return projects;
}

test('import claude-transcripts: every session, projects from their directories, idempotent, progress on stderr', async (t) => {
  const db = await createTestDatabase(t);
  const projects = projectsTree(makeTempDir(t));
  const env = { DATABASE_URL: db.url };

  const dry = await run(['import', 'claude-transcripts', projects, '--dry-run', '--json'], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(JSON.parse(dry.stdout).turns, 3);

  const first = await run(['import', 'claude-transcripts', projects, '--json'], env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /sage import claude-transcripts: imported 3 turns and 1 agent reports from 2 sessions in 3 files/);
  assert.match(first.stderr, /projects: shop \(2\), blog \(1\)/);
  const summary = JSON.parse(first.stdout) as Record<string, unknown>;
  assert.deepEqual([summary.files, summary.turns, summary.agent_reports, summary.sessions, summary.failed], [3, 3, 1, 2, 0]);

  const rows = await query<{ project: string; session_id: string; kind: string; user_text: string | null; created_at: Date }>(
    db.url,
    'SELECT project, session_id, kind, user_text, created_at FROM memories ORDER BY created_at, kind',
  );
  assert.deepEqual(
    rows.map((r) => [r.project, r.kind, r.session_id]),
    [
      ['blog', 'turn', BLOG_SESSION],
      ['shop', 'turn', SESSION],
      ['shop', 'agent_report', SESSION],
      ['shop', 'turn', SESSION],
    ],
  );
  assert.equal(rows[0]!.created_at.toISOString(), '2025-11-02T20:00:00.000Z', 'history keeps its dates');
  assert.ok(!rows.some((r) => r.user_text?.includes('SUBAGENT-FILE')));

  const again = await run(['import', 'claude-transcripts', projects], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /imported 0 turns and 0 agent reports from 2 sessions in 3 files; 3 turns were already captured/);
  assert.equal((await query(db.url, 'SELECT 1 FROM memories')).length, 4);
});

test('import claude-transcripts - reads one session from stdin (Docker: docker exec -i … < FILE)', async (t) => {
  const db = await createTestDatabase(t);
  const env = { DATABASE_URL: db.url };
  const text = readFileSync(path.join(FIXTURES, 'transcript.jsonl'), 'utf8');
  const first = await run(['import', 'claude-transcripts', '-'], env, text);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /imported 2 turns and 1 agent reports from 1 sessions in 1 files; .*projects: shop \(2\)/);
  const again = await run(['import', 'claude-transcripts', '-'], env, text);
  assert.match(again.stderr, /imported 0 turns .*2 turns were already captured/);
  const rows = await query<{ session_id: string }>(db.url, 'SELECT DISTINCT session_id FROM memories');
  assert.deepEqual(rows.map((r) => r.session_id), [SESSION]);
});

test('import after the hooks captured a session saves nothing twice', async (t) => {
  const db = await createTestDatabase(t);
  const projects = projectsTree(makeTempDir(t));
  const env = { DATABASE_URL: db.url };
  const transcript = path.join(projects, '-home-alice-src-shop', `${SESSION}.jsonl`);
  const hook = await run(['hook', 'stop'], env, JSON.stringify({ session_id: SESSION, transcript_path: transcript, cwd: '/home/alice/src/shop', hook_event_name: 'SessionEnd' }));
  assert.match(hook.stderr, /captured 2 new turns/);
  const imported = await run(['import', 'claude-transcripts', projects], env);
  assert.match(imported.stderr, /imported 1 turns and 0 agent reports .*2 turns were already captured/);
  assert.equal((await query(db.url, 'SELECT 1 FROM memories')).length, 4);
});

test('import memory-graph: entities, observations and relations, once', async (t) => {
  const db = await createTestDatabase(t);
  const env = { DATABASE_URL: db.url };
  const file = path.join(FIXTURES, 'memory-graph.jsonl');
  const first = await run(['import', 'memory-graph', file, '--project', 'team', '--json'], env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /imported 9 memories \(0 already stored\) from 3 entities and 2 relations into project "team"/);
  assert.equal(JSON.parse(first.stdout).imported, 9);
  const second = await run(['import', 'memory-graph', file, '--project', 'team'], env);
  assert.match(second.stderr, /imported 0 memories \(9 already stored\)/);
  const rows = await query<{ kind: string; content: string; tags: string[] }>(db.url, "SELECT kind, content, tags FROM memories WHERE project = 'team' ORDER BY content");
  assert.equal(rows.length, 9);
  assert.ok(rows.some((r) => r.content === 'Alice_Martin leads Payments_Team' && r.kind === 'fact'));
  assert.ok(rows.some((r) => r.content === 'Alice_Martin: Speaks fluent Portuguese' && r.tags.includes('person')));

  const dir = makeTempDir(t);
  const bad = path.join(dir, 'memory.jsonl');
  writeFileSync(bad, '{"type":"entity","name":"A","entityType":"x","observations":["o"]}\n{"type":"relation"}\n');
  const refused = await run(['import', 'memory-graph', bad, '--project', 'other'], env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /1 line\(s\) .*\(line 2: .*nothing was imported/);
  assert.equal((await query(db.url, "SELECT 1 FROM memories WHERE project = 'other'")).length, 0);
});

test('setup claude --write merges hooks into settings.json, keeps the rest, replaces its own, backs up', async (t) => {
  const dir = makeTempDir(t);
  const settings = path.join(dir, 'settings.json');
  const original = {
    model: 'opus',
    permissions: { allow: ['Bash(npm test:*)'] },
    hooks: {
      UserPromptSubmit: [{ hooks: [{ type: 'command', command: '/usr/local/bin/sage hook prompt', timeout: 5 }] }],
      Stop: [{ hooks: [{ type: 'command', command: 'notify-send done' }] }],
      PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'guard.sh' }] }],
    },
  };
  writeFileSync(settings, JSON.stringify(original, null, 2));
  const mcp = path.join(dir, '.mcp.json');
  writeFileSync(mcp, JSON.stringify({ mcpServers: { github: { type: 'http', url: 'https://api.githubcopilot.com/mcp/' } } }));

  const r = await run(['setup', 'claude', '--mode', 'docker', '--write', '--settings', settings, '--mcp-json', mcp], {});
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /updated .*settings\.json.*previous file saved as .*settings\.json\.bak-\d{8}T\d{6}Z/);
  const written = JSON.parse(readFileSync(settings, 'utf8'));
  assert.equal(written.model, 'opus');
  assert.deepEqual(written.permissions, original.permissions);
  assert.deepEqual(written.hooks.PreToolUse, original.hooks.PreToolUse);
  assert.equal(written.hooks.UserPromptSubmit.length, 1, 'the old Sage hook was replaced, not kept beside the new one');
  assert.equal(written.hooks.UserPromptSubmit[0].hooks[0].command, 'docker exec -i -e CLAUDE_PROJECT_DIR sage /sage hook prompt');
  assert.deepEqual(written.hooks.Stop[0], original.hooks.Stop[0], 'unrelated Stop hook kept');
  assert.match(written.hooks.Stop[1].hooks[0].command, /docker exec -i -e CLAUDE_PROJECT_DIR sage \/sage hook stop --transcript-stdin$/);
  assert.match(written.hooks.SessionEnd[0].hooks[0].command, /hook stop --transcript-stdin/);
  const backups = readdirSync(dir).filter((f) => f.startsWith('settings.json.bak-'));
  assert.equal(backups.length, 1);
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, backups[0]!), 'utf8')), original);
  const mcpWritten = JSON.parse(readFileSync(mcp, 'utf8'));
  assert.deepEqual(Object.keys(mcpWritten.mcpServers), ['github', 'sage']);
  // The .mcp.json's directory names the project the server defaults to (as the hooks derive it).
  assert.deepEqual(mcpWritten.mcpServers.sage, { type: 'stdio', command: 'docker', args: ['exec', '-i', 'sage', '/sage', 'stdio', '--project', path.basename(dir)] });
  assert.match(r.stdout, new RegExp(`mcpServers\\.sage \\(project "${path.basename(dir)}"\\)`));

  // Running it again changes nothing but the backup count: no duplicate hooks.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const again = await run(['setup', 'claude', '--mode', 'docker', '--write', '--settings', settings], {});
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(JSON.parse(readFileSync(settings, 'utf8')), written);
  assert.match(again.stdout, /claude mcp add --scope user sage -- docker exec -i sage \/sage stdio/);

  // A settings file that is not JSON is left alone.
  const broken = path.join(dir, 'broken.json');
  writeFileSync(broken, '{ "hooks": ');
  const refused = await run(['setup', 'claude', '--write', '--settings', broken], {});
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /not valid JSON.*nothing was changed/);
  assert.equal(readFileSync(broken, 'utf8'), '{ "hooks": ');

  // A new settings file (none before): created, no backup.
  const fresh = path.join(dir, 'fresh', 'settings.json');
  mkdirSync(path.dirname(fresh));
  const created = await run(['setup', 'claude', '--mode', 'http', '--url', 'https://sage.example.com/mcp', '--token-file', '/home/alice/.config/sage/token', '--binary', '/opt/sage/sage', '--write', '--settings', fresh], {});
  assert.equal(created.code, 0, created.stderr);
  const hooks = JSON.parse(readFileSync(fresh, 'utf8')).hooks;
  assert.equal(hooks.UserPromptSubmit[0].hooks[0].command, '/opt/sage/sage hook prompt --url https://sage.example.com/mcp --token-file /home/alice/.config/sage/token');
});

/**
 * Imports from what users already have, reached through `sage import SOURCE …`
 * (src/cli/import.ts dispatches here):
 *
 *  - `sage import claude-transcripts [DIR]`: Claude Code's history, every session file under
 *    DIR (default $CLAUDE_CONFIG_DIR/projects or ~/.claude/projects, laid out as
 *    <project-slug>/<session-id>.jsonl). Each session is captured exactly as the stop hook
 *    captures it — same turns, same rendering, same cursor — so importing after (or before)
 *    the hooks ran saves nothing twice, and running the import again saves nothing. Subagent
 *    files (…/subagents/, agent-*.jsonl) are skipped: their reports are in the main session.
 *    The project of a session comes from its working directory, as for the hooks.
 *  - `sage import memory-graph FILE`: the reference MCP memory server's memory.jsonl
 *    (lines {"type":"entity","name","entityType","observations"} and
 *    {"type":"relation","from","to","relationType"}). Each observation becomes a fact
 *    "<entity>: <observation>", an entity without observations a note "<entity> (<type>)",
 *    each relation a fact "<from> <relation> <to>"; entity name and type are kept in metadata
 *    and tags. Idempotent through the store's exact-duplicate rule.
 *
 * Progress goes to stderr; the summary to stderr, and with --json as one JSON line on stdout.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import * as z from 'zod';
import { loadConfig, type Flags } from '../config.ts';
import { InputError } from '../errors.ts';
import { captureTranscript, serviceCaptureStore } from '../claude/capture.ts';
import { parseProjectMap, resolveProject } from '../claude/project.ts';
import { buildTurns, parseTranscript } from '../claude/transcript.ts';
import type { Options } from './command.ts';
import { openRuntime } from './command.ts';
import { formatCount, Progress } from './progress.ts';

export const IMPORT_SOURCES = ['claude-transcripts', 'memory-graph'] as const;
export type ImportSource = (typeof IMPORT_SOURCES)[number];

export function isImportSource(name: string | undefined): name is ImportSource {
  return (IMPORT_SOURCES as readonly string[]).includes(name ?? '');
}

/** Options these sources add to `sage import`. */
export const IMPORT_SOURCE_OPTIONS: Options = { project: { type: 'string' } };

export const IMPORT_SOURCE_HELP = `  claude-transcripts [DIR|-]
                       Import Claude Code history (default DIR: ~/.claude/projects), idempotently;
                       the project of each session comes from its directory (or --project);
                       "-" reads one session file from stdin
  memory-graph FILE    Import the MCP memory server's memory.jsonl (entities, observations,
                       relations) into --project (default SAGE_PROJECT); "-" reads stdin
  --project NAME       Project for the imported memories`;

const UUID_STEM = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Directories of per-session side files that hold no sessions of their own. */
const SKIP_DIRS = new Set(['subagents', 'tool-results']);

/** Session files under `root`, sorted by path (deterministic order, stable progress). */
export async function findTranscripts(root: string): Promise<Array<{ file: string; bytes: number }>> {
  const out: Array<{ file: string; bytes: number }> = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 8) return;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (depth === 0) throw new InputError(`cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(full, depth + 1);
      } else if (e.isFile() && e.name.endsWith('.jsonl') && !e.name.startsWith('agent-')) {
        out.push({ file: full, bytes: (await stat(full)).size });
      }
    }
  };
  await walk(root, 0);
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

function defaultProjectsDir(): string {
  const config = process.env.CLAUDE_CONFIG_DIR?.trim();
  return path.join(config ? config : path.join(homedir(), '.claude'), 'projects');
}

async function importTranscripts(flags: Flags, positionals: string[]): Promise<number> {
  if (positionals.length > 1) throw new InputError('claude-transcripts takes one directory');
  // "-": one session on stdin (`docker exec -i sage /sage import claude-transcripts - < FILE`).
  const fromStdin = positionals[0] === '-';
  const root = fromStdin ? '-' : path.resolve(positionals[0] ?? defaultProjectsDir());
  const files = fromStdin ? [{ file: '-', bytes: 0 }] : await findTranscripts(root);
  const dryRun = flags['dry-run'] === true;
  const map = parseProjectMap(loadConfig(['projectMap'], flags).projectMap);
  const fallback = loadConfig(['project'], flags).project;
  const explicit = typeof flags.project === 'string' ? flags.project : undefined;
  const runtime = dryRun ? undefined : openRuntime(flags, 'sage-import');
  const totalBytes = files.reduce((n, f) => n + f.bytes, 0);
  const progress = new Progress(dryRun ? 'sage import claude-transcripts --dry-run' : 'sage import claude-transcripts');
  const totals = { sessions: 0, turns: 0, agentReports: 0, duplicates: 0, alreadyCaptured: 0, empty: 0, failed: 0 };
  const projects = new Map<string, number>();
  const failures: string[] = [];
  let bytesDone = 0;
  try {
    for (const [i, { file, bytes }] of files.entries()) {
      try {
        const transcript = parseTranscript(fromStdin ? await readStdinText('claude-transcripts -: pipe one session file in') : await readFile(file, 'utf8'));
        const stem = path.basename(file, '.jsonl');
        const fallbackId = fromStdin ? `import-${transcript.entries[0]?.uuid ?? 'stdin'}` : stem;
        const sessionId = UUID_STEM.test(stem) ? stem : (transcript.entries.find((e) => e.sessionId)?.sessionId ?? fallbackId);
        const cwd = transcript.entries.find((e) => e.cwd)?.cwd ?? null;
        const { project } = resolveProject({ explicit, cwd, map, fallback });
        if (dryRun || !runtime) {
          const turns = buildTurns(transcript.entries).length;
          if (turns === 0) totals.empty++;
          else {
            totals.sessions++;
            totals.turns += turns;
            projects.set(project, (projects.get(project) ?? 0) + turns);
          }
        } else {
          const r = await captureTranscript(serviceCaptureStore(runtime.service, { tenant: runtime.tenant, project }), transcript, { sessionId, project });
          const considered = r.turns + r.duplicates + r.alreadyCaptured;
          if (considered === 0 && r.agentReports === 0) totals.empty++;
          else totals.sessions++;
          totals.turns += r.turns;
          totals.agentReports += r.agentReports;
          totals.duplicates += r.duplicates;
          totals.alreadyCaptured += r.alreadyCaptured;
          if (r.turns > 0) projects.set(project, (projects.get(project) ?? 0) + r.turns);
        }
      } catch (err) {
        totals.failed++;
        if (failures.length < 5) failures.push(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      bytesDone += bytes;
      progress.update(i + 1, 'sessions', totalBytes > 0 ? bytesDone / totalBytes : undefined, `${formatCount(totals.turns)} turns`);
    }
  } finally {
    await runtime?.db.close().catch(() => undefined);
  }
  const byProject = [...projects.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([p, n]) => `${p} (${formatCount(n)})`)
    .join(', ');
  const what = dryRun ? `would consider ${formatCount(totals.turns)} turns` : `imported ${formatCount(totals.turns)} turns and ${formatCount(totals.agentReports)} agent reports`;
  progress.finish(
    `${what} from ${formatCount(totals.sessions)} sessions in ${files.length} files` +
      (dryRun ? '' : `; ${formatCount(totals.alreadyCaptured)} turns were already captured, ${formatCount(totals.duplicates)} already stored`) +
      (byProject ? `; projects: ${byProject}` : '') +
      (totals.failed ? `; ${totals.failed} files failed` : '') +
      ` (${progress.elapsed().toFixed(1)}s)`,
  );
  for (const f of failures) process.stderr.write(`  failed: ${f}\n`);
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({ source: 'claude-transcripts', dir: root, files: files.length, ...snake(totals), projects: Object.fromEntries(projects), dry_run: dryRun }) + '\n',
    );
  }
  return totals.failed > 0 ? 1 : 0;
}

function snake(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
}

// ---------------------------------------------------------------------------------------------
// memory-graph

const EntityLine = z.object({
  type: z.literal('entity'),
  name: z.string().trim().min(1),
  entityType: z.string().trim().default(''),
  observations: z.array(z.string()).default([]),
});
const RelationLine = z.object({
  type: z.literal('relation'),
  from: z.string().trim().min(1),
  to: z.string().trim().min(1),
  relationType: z.string().trim().min(1),
});
const GraphLine = z.discriminatedUnion('type', [EntityLine, RelationLine]);

export interface GraphMemory {
  kind: 'fact' | 'note';
  content: string;
  tags: string[];
  metadata: Record<string, unknown>;
}

function typeTag(entityType: string): string | undefined {
  const tag = entityType
    .normalize('NFKC')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '-')
    .slice(0, 64);
  return tag || undefined;
}

/**
 * The memories a memory.jsonl becomes, in file order (entities first, as the server writes
 * them). Entities named twice are merged. Bad lines are reported with their line numbers.
 */
export function graphMemories(text: string): { memories: GraphMemory[]; invalid: Array<{ line: number; reason: string }>; entities: number; relations: number } {
  const entities = new Map<string, { type: string; observations: string[] }>();
  const relations: Array<z.infer<typeof RelationLine>> = [];
  const invalid: Array<{ line: number; reason: string }> = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      invalid.push({ line: i + 1, reason: 'not JSON' });
      return;
    }
    const parsed = GraphLine.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      invalid.push({ line: i + 1, reason: issue ? `${issue.path.join('.') || 'line'}: ${issue.message}` : 'invalid' });
      return;
    }
    const item = parsed.data;
    if (item.type === 'entity') {
      const known = entities.get(item.name);
      if (known) {
        for (const o of item.observations) if (!known.observations.includes(o)) known.observations.push(o);
        if (!known.type) known.type = item.entityType;
      } else {
        entities.set(item.name, { type: item.entityType, observations: [...item.observations] });
      }
    } else {
      relations.push(item);
    }
  });
  const memories: GraphMemory[] = [];
  for (const [name, e] of entities) {
    const tag = typeTag(e.type);
    const tags = ['memory-graph', ...(tag ? [tag] : [])];
    const metadata = { source: 'memory-graph', entity: name, entity_type: e.type };
    const observations = e.observations.map((o) => o.trim()).filter((o) => o.length > 0);
    if (observations.length === 0) memories.push({ kind: 'note', content: e.type ? `${name} (${e.type})` : name, tags, metadata });
    for (const o of observations) memories.push({ kind: 'fact', content: `${name}: ${o}`, tags, metadata });
  }
  for (const r of relations) {
    const verb = r.relationType.replace(/_/g, ' ').trim();
    memories.push({
      kind: 'fact',
      content: `${r.from} ${verb} ${r.to}`,
      tags: ['memory-graph', 'relation'],
      metadata: { source: 'memory-graph', relation: { from: r.from, to: r.to, type: r.relationType } },
    });
  }
  return { memories, invalid, entities: entities.size, relations: relations.length };
}

async function importGraph(flags: Flags, positionals: string[]): Promise<number> {
  if (positionals.length !== 1) throw new InputError('memory-graph takes one file: sage import memory-graph ~/path/to/memory.jsonl');
  const file = positionals[0]!;
  let text: string;
  try {
    // "-" reads stdin: `docker exec -i sage /sage import memory-graph - < memory.jsonl`.
    text = file === '-' ? await readStdinText('memory-graph -: pipe the memory.jsonl in (sage import memory-graph - < memory.jsonl)') : await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  const graph = graphMemories(text);
  if (graph.invalid.length > 0) {
    const first = graph.invalid.slice(0, 5).map((b) => `line ${b.line}: ${b.reason}`);
    throw new InputError(`${file} has ${graph.invalid.length} line(s) that are not memory-graph entities or relations (${first.join('; ')}); nothing was imported`);
  }
  const dryRun = flags['dry-run'] === true;
  const counts = { imported: 0, duplicates: 0 };
  let project = loadConfig(['project'], flags).project;
  if (!dryRun) {
    const runtime = openRuntime(flags, 'sage-import');
    project = runtime.project;
    const progress = new Progress('sage import memory-graph');
    try {
      for (const [i, m] of graph.memories.entries()) {
        const r = await runtime.service.save({ tenant: runtime.tenant, project }, { kind: m.kind, content: m.content, tags: m.tags, metadata: m.metadata });
        if (r.duplicate) counts.duplicates++;
        else counts.imported++;
        progress.update(i + 1, 'memories', (i + 1) / graph.memories.length);
      }
    } finally {
      await runtime.db.close().catch(() => undefined);
    }
    progress.finish(
      `imported ${formatCount(counts.imported)} memories (${formatCount(counts.duplicates)} already stored) from ${graph.entities} entities and ${graph.relations} relations into project "${project}"`,
    );
  } else {
    process.stderr.write(`sage import memory-graph --dry-run: ${graph.memories.length} memories from ${graph.entities} entities and ${graph.relations} relations; nothing written\n`);
  }
  if (flags.json) {
    process.stdout.write(JSON.stringify({ source: 'memory-graph', file, entities: graph.entities, relations: graph.relations, memories: graph.memories.length, ...counts, project, dry_run: dryRun }) + '\n');
  }
  return 0;
}

async function readStdinText(hint: string): Promise<string> {
  if (process.stdin.isTTY) throw new InputError(hint);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export function runImportSource(source: ImportSource, flags: Flags, positionals: string[]): Promise<number> {
  return source === 'claude-transcripts' ? importTranscripts(flags, positionals) : importGraph(flags, positionals);
}

// npm run bench:recall -- --data FILE [--json] [--strategy hybrid|lexical|vector] [--dump FILE]
//
// Evidence recall of Sage's search against a plain Okapi BM25 baseline, in one run.
//   FILE is a LoCoMo file (e.g. ../shared/bench/locomo/locomo-dev.json; protocol in GUIDE.md §5
//   and bench/lib/locomo.ts) or a Sage recall set in the `sage-recall/1` format
//   (test/fixtures/zh-recall.json; bench/lib/dataset.ts) — the format is detected.
// Every document is saved through MemoryService.save into a fresh database and every query
// asked through MemoryService.search (hybrid, limit 20, the corpus' project). The database is
// a throw-away PostgreSQL 15 cluster started like the tests' one, or, when DATABASE_URL is
// set, a fresh database created on that server (and dropped afterwards).
// Prints recall@1/5/10/20 and MRR, overall and per category (LoCoMo: 1 multi-hop, 2 temporal,
// 3 open-domain, 4 single-hop; recall sets: per query type). With --json the last line is the
// contract of GUIDE.md §4:
//   {"questions":N,"sage":{"r@1":x,...,"mrr":x},"bm25":{...},"by_category":{...},...}
// --dump FILE writes every query with both rankings as JSON lines, for error analysis.
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { setLogLevel } from '../src/log.ts';
import { MemoryService } from '../src/memory/service.ts';
import { Database } from '../src/store/db.ts';
import { DEFAULT_DIMENSION } from '../src/vectorize/index.ts';
import { isRecallSet, loadRecallSet, readJson, type Dataset } from './lib/dataset.ts';
import { isLocomo, loadLocomo } from './lib/locomo.ts';
import { CUTOFFS, type Scores } from './lib/metrics.ts';
import { benchDatabase } from './lib/postgres.ts';
import { runRecall, type Report } from './lib/run.ts';

const USAGE = 'usage: npm run bench:recall -- --data FILE [--json] [--strategy hybrid|lexical|vector] [--dump FILE]';

function fail(message: string): never {
  process.stderr.write(`bench:recall: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        data: { type: 'string' },
        json: { type: 'boolean', default: false },
        strategy: { type: 'string', default: 'hybrid' },
        dump: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
}

function loadDataset(file: string): Dataset {
  let json: unknown;
  try {
    json = readJson(file);
  } catch (err) {
    fail(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    if (isLocomo(json)) return loadLocomo(json);
    if (isRecallSet(json)) return loadRecallSet(json);
  } catch (err) {
    fail(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  fail(`${file} is neither a LoCoMo file (an array of samples with "conversation") nor a recall set ("format": "sage-recall/1")`);
}

function fmt(x: number): string {
  return x.toFixed(3);
}

const KEYS = [...CUTOFFS.map((k) => `r@${k}` as const), 'mrr' as const];
const CELL = 15;

function row(label: string, n: number | string, sage: Scores, bm25: Scores): string {
  const cells = KEYS.map((key) => `${fmt(sage[key])}  ${fmt(bm25[key])}`.padStart(CELL));
  return `${label.padEnd(16)}${String(n).padStart(5)}${cells.join('')}`;
}

function table(report: Report): string {
  const top = `${''.padEnd(21)}${KEYS.map((k) => k.toUpperCase().replace('R@', 'R@').padStart(CELL)).join('')}`;
  const header = `${'category'.padEnd(16)}${'n'.padStart(5)}${KEYS.map(() => 'sage   bm25'.padStart(CELL)).join('')}`;
  const lines = [top, header, '-'.repeat(header.length)];
  for (const [key, g] of Object.entries(report.by_category)) lines.push(row(key === g.name ? g.name : `${key} ${g.name}`, g.questions, g.sage, g.bm25));
  lines.push('-'.repeat(header.length));
  lines.push(row('all', report.questions, report.sage, report.bm25));
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = parse();
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!opts.data) fail('--data FILE is required');
  const strategy = opts.strategy;
  if (strategy !== 'hybrid' && strategy !== 'lexical' && strategy !== 'vector') fail(`--strategy must be hybrid, lexical or vector, not ${strategy}`);
  const dataset = loadDataset(opts.data);
  setLogLevel('warn');

  // Results, not timings, are measured here: the harness cluster keeps its fast test settings.
  const database = await benchDatabase('recall', { durable: false });
  const db = new Database({ url: database.url, applicationName: 'sage-bench-recall' });
  const dump = opts.dump ? createWriteStream(opts.dump) : undefined;
  const started = performance.now();
  let report: Report;
  try {
    const service = new MemoryService(db, { dimension: DEFAULT_DIMENSION });
    report = await runRecall(service, dataset, {
      strategy,
      onQuery: dump ? (r) => dump.write(`${JSON.stringify(r)}\n`) : undefined,
    });
  } finally {
    await db.close();
    await database.drop();
    await new Promise<void>((resolve) => (dump ? dump.end(resolve) : resolve()));
  }
  const seconds = (performance.now() - started) / 1000;

  const out = process.stdout;
  out.write(`data: ${opts.data} (${dataset.format}), strategy: ${strategy}\n`);
  out.write(
    `${report.documents} documents → ${report.memories} memories (${report.collapsed} identical texts collapsed into an earlier memory); ` +
      `${report.questions} questions (${report.skipped_questions} without evidence skipped)\n`,
  );
  out.write(`each cell: sage bm25 (BM25: wink-bm25-text-search, lower-cased tokenize0, one document per turn)\n\n`);
  out.write(`${table(report)}\n\n`);
  out.write(`search latency p50 ${report.search_ms.p50} ms, p95 ${report.search_ms.p95} ms; total ${seconds.toFixed(1)} s\n`);
  if (opts.json) out.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:recall: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

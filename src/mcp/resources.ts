/**
 * Read-only views for clients that browse resources: the session list, one session with its
 * latest memories, one memory whole, and the status. Each is capped (100 sessions, 50 memories,
 * their texts fitted as a search page's: page-size.ts).
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolContext } from './tool.ts';
import { errorMessage } from './tool.ts';
import { InputError } from '../errors.ts';
import { fitPage } from './page-size.ts';

const JSON_TYPE = 'application/json';

function json(uri: URL, value: unknown) {
  return { contents: [{ uri: uri.href, mimeType: JSON_TYPE, text: JSON.stringify(value, null, 2) }] };
}

/** Resource reads report errors as protocol errors; the message is safe to show. */
async function guarded<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new Error(errorMessage(err, name));
  }
}

/** The {id} of a resource template's URI, decoded; `missing` when there is none. */
function templateId(variables: Record<string, string | string[] | undefined>, missing: string): string {
  const raw = variables.id;
  let id: string;
  try {
    id = decodeURIComponent(Array.isArray(raw) ? (raw[0] ?? '') : (raw ?? ''));
  } catch {
    throw new InputError(`the id in the URI is not valid percent-encoding (${String(raw).slice(0, 80)})`);
  }
  if (!id) throw new InputError(missing);
  return id;
}

export function registerResources(server: McpServer, ctx: ToolContext): void {
  server.registerResource(
    'sessions',
    'sage://sessions',
    { title: 'Sessions', description: 'The 100 most recently active sessions of the current project.', mimeType: JSON_TYPE },
    (uri) => guarded('sage://sessions', async () => json(uri, await ctx.service.sessions(ctx.caller(), { limit: 100 }))),
  );

  server.registerResource(
    'session',
    new ResourceTemplate('sage://session/{id}', {
      list: async () => {
        const page = await guarded('sage://session', () => ctx.service.sessions(ctx.caller(), { limit: 100 }));
        return { resources: page.sessions.map((s) => ({ uri: `sage://session/${encodeURIComponent(s.id)}`, name: s.title ?? s.id, mimeType: JSON_TYPE })) };
      },
    }),
    { title: 'Session', description: 'One session and its 50 latest memories.', mimeType: JSON_TYPE },
    (uri, variables) =>
      guarded('sage://session', async () => {
        const id = templateId(variables, 'sage://session/{id} needs a session id');
        const caller = ctx.caller();
        const session = await ctx.service.session(caller, id);
        const page = await ctx.service.search(caller, { strategy: 'recent', session: id, project: session.project, limit: 50 });
        return json(uri, { session, memories: fitPage(page.results.map(({ score: _s, why: _w, ...m }) => m)) });
      }),
  );

  // One memory whole: where a cut text of a search page points (page-size.ts). Not listed: a
  // project may hold a million.
  server.registerResource(
    'memory',
    new ResourceTemplate('sage://memory/{id}', { list: undefined }),
    { title: 'Memory', description: 'One memory with its whole texts (search results cut long ones).', mimeType: JSON_TYPE },
    (uri, variables) =>
      guarded('sage://memory', async () => {
        return json(uri, await ctx.service.get(ctx.caller(), templateId(variables, 'sage://memory/{id} needs a memory id')));
      }),
  );

  server.registerResource(
    'status',
    'sage://status',
    { title: 'Status', description: 'Database health, counts and versions.', mimeType: JSON_TYPE },
    (uri) => guarded('sage://status', async () => json(uri, await ctx.service.status(ctx.caller()))),
  );
}

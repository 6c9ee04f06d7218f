/**
 * One MCP server per connection: it registers every tool, resource and prompt over the same
 * memory service. The connection's state (its current session) lives here, in the closure,
 * never in the service.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ALL_SCOPES, type Scope } from '../auth/tenant.ts';
import type { Caller, MemoryService } from '../memory/service.ts';
import { SAGE_VERSION } from '../version.ts';
import { registerPrompts } from './prompts.ts';
import { registerResources } from './resources.ts';
import { registerTool, type ToolContext } from './tool.ts';
import { TOOLS } from './tools/index.ts';

const INSTRUCTIONS =
  'Sage is your long-term memory across sessions. At the start of a task, call get_context with the task to recall earlier decisions and facts. ' +
  'After an exchange that settles something worth keeping, call save_conversation (or remember for a standalone fact). ' +
  'Search with search_memory; correct stale memories with update_memory; remove wrong ones with forget.';

/** Over stateless HTTP each request gets a fresh server, so a "current session" cannot outlive one call. */
const STATELESS_INSTRUCTIONS =
  ' Over HTTP every request stands alone: after manage_session create or switch, pass that session id as `session` to later saves.';

export interface ServerOptions {
  /** What the caller may do; every scope when omitted (stdio, the local user). */
  scopes?: ReadonlySet<Scope>;
  /** True for stateless HTTP: no state survives between requests. */
  stateless?: boolean;
}

export function createMcpServer(service: MemoryService, caller: Omit<Caller, 'session'>, options: ServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: 'sage', title: 'Sage memory', version: SAGE_VERSION },
    { capabilities: { tools: {}, resources: {}, prompts: {}, logging: {} }, instructions: options.stateless ? INSTRUCTIONS + STATELESS_INSTRUCTIONS : INSTRUCTIONS },
  );
  let session: string | undefined;
  const ctx: ToolContext = {
    service,
    caller: () => ({ ...caller, session }),
    scopes: options.scopes ?? ALL_SCOPES,
    setSession: (id) => {
      session = id;
    },
  };
  for (const tool of TOOLS) registerTool(server, tool as Parameters<typeof registerTool>[1], ctx);
  registerResources(server, ctx);
  registerPrompts(server, ctx);
  return server;
}

/**
 * One MCP server per connection: it registers every tool, resource and prompt over the same
 * memory service. The connection's state (its current session) lives here, in the closure,
 * never in the service.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
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

/**
 * The SDK builds a new Ajv instance (with all its formats) for every Server unless it is given
 * one: over stateless HTTP that was ~1 ms of CPU per request, a sixth of the protocol's cost.
 * Ajv only caches compiled schemas (it validates what a client answers to server requests),
 * nothing of a caller, so one per process is shared. Created on first use: module top levels
 * stay free of work for the start-up snapshot.
 */
let sharedValidator: AjvJsonSchemaValidator | undefined;

export function createMcpServer(service: MemoryService, caller: Omit<Caller, 'session'>, options: ServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: 'sage', title: 'Sage memory', version: SAGE_VERSION },
    {
      capabilities: { tools: {}, resources: {}, prompts: {}, logging: {} },
      instructions: options.stateless ? INSTRUCTIONS + STATELESS_INSTRUCTIONS : INSTRUCTIONS,
      jsonSchemaValidator: (sharedValidator ??= new AjvJsonSchemaValidator()),
    },
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

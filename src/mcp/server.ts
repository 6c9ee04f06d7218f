/**
 * One MCP server per connection (per request over stateless HTTP): it registers the tools,
 * resources and prompt over the same memory service. The connection's state (its current session) lives here, in the closure,
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
  /**
   * The JSON-RPC messages this server will answer, when they are known before it is built
   * (stateless HTTP: one request, one server): only what they can reach is registered.
   */
  messages?: readonly unknown[];
}

/** What a server registers: every tool or the named ones, and resources and prompts or not. */
interface Registrations {
  tools: 'all' | Set<string>;
  resources: boolean;
  prompts: boolean;
}

const EVERYTHING: Readonly<Registrations> = { tools: 'all', resources: true, prompts: true };

/**
 * Over stateless HTTP a server lives for one request, and registering all nine tools, the
 * resources and the prompt costs more CPU than building the server itself. The capabilities
 * (and the list/call handlers they bring) are declared in the constructor whatever is registered,
 * so `initialize` answers the same; a request reaches only the registrations its methods read:
 * tools/call the named tool (an unknown name is "not found" either way), tools/list every tool,
 * resources/* the resources, prompts/* the prompt. Any other method that is not known to need
 * nothing gets everything, so an unforeseen method sees the full server.
 */
function registrationsFor(messages: readonly unknown[]): Registrations {
  const needs: Registrations = { tools: new Set(), resources: false, prompts: false };
  for (const message of messages) {
    if (!message || typeof message !== 'object') continue;
    const { method, params } = message as { method?: unknown; params?: unknown };
    if (typeof method !== 'string') continue; // a response to the server: reaches no registration
    if (method === 'initialize' || method === 'ping' || method === 'logging/setLevel' || method.startsWith('notifications/')) continue;
    const name = params && typeof params === 'object' ? (params as { name?: unknown }).name : undefined;
    if (method === 'tools/call' && typeof name === 'string') {
      if (needs.tools !== 'all') needs.tools.add(name);
    } else if (method === 'tools/list' || method === 'tools/call') needs.tools = 'all';
    else if (method.startsWith('resources/')) needs.resources = true;
    else if (method.startsWith('prompts/')) needs.prompts = true;
    else return EVERYTHING;
  }
  return needs;
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
  const needs = options.messages ? registrationsFor(options.messages) : EVERYTHING;
  for (const tool of TOOLS) {
    if (needs.tools === 'all' || needs.tools.has(tool.name)) registerTool(server, tool as Parameters<typeof registerTool>[1], ctx);
  }
  if (needs.resources) registerResources(server, ctx);
  if (needs.prompts) registerPrompts(server, ctx);
  return server;
}

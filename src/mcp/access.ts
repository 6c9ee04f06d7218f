/**
 * Which scope each MCP request needs — one table, read by both the HTTP transport (to answer
 * 403 insufficient_scope before anything runs) and the tool wrapper (so no other path can skip
 * the check). Fail closed: a tool that is not listed here needs memory:admin.
 */
import type { Scope } from '../auth/tenant.ts';

type ToolRule = Scope | ((args: Record<string, unknown>) => Scope);

export const TOOL_SCOPES: Readonly<Record<string, ToolRule>> = {
  save_conversation: 'memory:write',
  S: 'memory:write',
  remember: 'memory:write',
  search_memory: 'memory:read',
  get_context: 'memory:read',
  get_status: 'memory:read',
  update_memory: 'memory:write',
  // Forgetting by ids removes what the caller names; a filter can remove a whole project.
  forget: (args) => (args.filter !== undefined && args.filter !== null ? 'memory:admin' : 'memory:write'),
  // "create" writes a session row; switch, info and list only read.
  manage_session: (args) => (args.action === 'create' ? 'memory:write' : 'memory:read'),
};

/** The scope a tool call needs with these arguments. */
export function toolScope(name: string, args: unknown): Scope {
  const rule = Object.hasOwn(TOOL_SCOPES, name) ? TOOL_SCOPES[name] : undefined;
  if (rule === undefined) return 'memory:admin';
  if (typeof rule === 'string') return rule;
  return rule(args && typeof args === 'object' ? (args as Record<string, unknown>) : {});
}

/** Methods that only describe the server (handshake, listings, settings): any valid token. */
const OPEN_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'resources/list',
  'resources/templates/list',
  'prompts/list',
  'logging/setLevel',
  'completion/complete',
]);

/**
 * The scope a JSON-RPC message needs, or undefined when any authenticated caller may send it.
 * Notifications and responses (no method, or notifications/*) carry no operation.
 */
export function requiredScope(message: unknown): Scope | undefined {
  if (!message || typeof message !== 'object') return undefined;
  const { method, params } = message as { method?: unknown; params?: unknown };
  if (typeof method !== 'string' || method.startsWith('notifications/') || OPEN_METHODS.has(method)) return undefined;
  const p = params && typeof params === 'object' ? (params as Record<string, unknown>) : {};
  if (method === 'tools/call') return toolScope(typeof p.name === 'string' ? p.name : '', p.arguments);
  if (method === 'resources/read' || method === 'prompts/get') return 'memory:read';
  // Anything else (subscriptions, future methods): only the most trusted.
  return 'memory:admin';
}

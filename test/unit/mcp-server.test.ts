/**
 * createMcpServer given the request's messages (stateless HTTP) registers only what they reach:
 * every answer must be the one the fully registered server gives. The service is never reached
 * here (listings, and calls the scope check or the SDK refuses); calls that reach PostgreSQL run
 * over HTTP in test/integration/http-*.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Scope } from '../../src/auth/tenant.ts';
import { createMcpServer } from '../../src/mcp/server.ts';
import { TOOLS } from '../../src/mcp/tools/index.ts';

const READ_ONLY: ReadonlySet<Scope> = new Set(['memory:read']);

async function connect(server: McpServer): Promise<Client> {
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test', version: '0' });
  await Promise.all([server.connect(a), client.connect(b)]);
  return client;
}

/** What a server answers to one request (made by `ask`), result or error, as comparable JSON. */
async function answer(messages: unknown[] | undefined, ask: (c: Client) => Promise<unknown>): Promise<unknown> {
  const server = createMcpServer({} as never, { tenant: 't', project: 'p' }, { scopes: READ_ONLY, stateless: true, ...(messages ? { messages } : {}) });
  const client = await connect(server);
  try {
    const init = { capabilities: client.getServerCapabilities(), instructions: client.getInstructions(), version: client.getServerVersion() };
    const out = await ask(client).then(
      (result) => ({ result }),
      (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
    );
    return { init, out };
  } finally {
    await client.close();
  }
}

const call = (name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } });

const CASES: Array<[string, unknown[], (c: Client) => Promise<unknown>]> = [
  ['initialize alone', [{ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }], async () => null],
  ['ping', [{ jsonrpc: '2.0', id: 2, method: 'ping' }], (c) => c.ping()],
  ['tools/list', [{ jsonrpc: '2.0', id: 2, method: 'tools/list' }], (c) => c.listTools()],
  ['a write tool refused by scope', [call('remember', { content: 'x' })], (c) => c.callTool({ name: 'remember', arguments: { content: 'x' } })],
  ['a tool with invalid arguments', [call('search_memory', { query: 42 })], (c) => c.callTool({ name: 'search_memory', arguments: { query: 42 } })],
  ['an unknown tool', [call('no_such_tool', {})], (c) => c.callTool({ name: 'no_such_tool', arguments: {} })],
  ['prompts/list', [{ jsonrpc: '2.0', id: 2, method: 'prompts/list' }], (c) => c.listPrompts()],
  ['prompts/get without its argument', [{ jsonrpc: '2.0', id: 2, method: 'prompts/get', params: { name: 'recall', arguments: {} } }], (c) => c.getPrompt({ name: 'recall', arguments: {} })],
  ['resources/templates/list', [{ jsonrpc: '2.0', id: 2, method: 'resources/templates/list' }], (c) => c.listResourceTemplates()],
  ['resources/read of an unknown uri', [{ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'sage://nothing' } }], (c) => c.readResource({ uri: 'sage://nothing' })],
];

test('a server built for its messages answers them as the fully registered server does', async () => {
  for (const [name, messages, ask] of CASES) {
    assert.deepEqual(await answer(messages, ask), await answer(undefined, ask), name);
  }
});

test('a server built for its messages registers only what they reach', async () => {
  const registered = (messages: unknown[]) => {
    const server = createMcpServer({} as never, { tenant: 't', project: 'p' }, { scopes: READ_ONLY, stateless: true, messages });
    const internals = server as unknown as { _registeredTools: object; _registeredPrompts: object; _registeredResources: object; _registeredResourceTemplates: object };
    return {
      tools: Object.keys(internals._registeredTools).length,
      prompts: Object.keys(internals._registeredPrompts).length,
      resources: Object.keys(internals._registeredResources).length + Object.keys(internals._registeredResourceTemplates).length,
    };
  };
  assert.deepEqual(registered([call('search_memory', { query: 'x' })]), { tools: 1, prompts: 0, resources: 0 });
  assert.deepEqual(registered([{ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }, { jsonrpc: '2.0', method: 'notifications/initialized' }]), { tools: 0, prompts: 0, resources: 0 });
  assert.deepEqual(registered([{ jsonrpc: '2.0', id: 1, method: 'tools/list' }]), { tools: TOOLS.length, prompts: 0, resources: 0 });
  assert.deepEqual(registered([{ jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'recall' } }]), { tools: 0, prompts: 1, resources: 0 });
  assert.deepEqual(registered([{ jsonrpc: '2.0', id: 1, method: 'resources/list' }]), { tools: 0, prompts: 0, resources: 4 });
  // A batch gets the union; a method not known to need nothing gets everything.
  assert.deepEqual(registered([call('remember', { content: 'x' }), call('search_memory', { query: 'x' })]), { tools: 2, prompts: 0, resources: 0 });
  assert.deepEqual(registered([{ jsonrpc: '2.0', id: 1, method: 'completion/complete', params: {} }]), { tools: TOOLS.length, prompts: 1, resources: 4 });
});

/**
 * Spawns Sage over stdio with the official MCP SDK client. The command defaults to running the
 * TypeScript sources on Node 24; SAGE_TEST_BINARY=dist/sage runs the same tests against the
 * built binary.
 */
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const NODE = path.join(ROOT, 'node_modules/.bin/node');

/** argv that starts Sage: the binary under test, or the sources. */
export function sageCommand(): { command: string; args: string[] } {
  const binary = process.env.SAGE_TEST_BINARY;
  if (binary) return { command: path.resolve(ROOT, binary), args: [] };
  return { command: NODE, args: [path.join(ROOT, 'src/main.ts')] };
}

export interface StdioSession {
  client: Client;
  stderr: string[];
  close(): Promise<void>;
}

export async function connectStdio(env: Record<string, string>, t?: { after(fn: () => unknown): void }): Promise<StdioSession> {
  const { command, args } = sageCommand();
  const transport = new StdioClientTransport({
    command,
    args: [...args, 'stdio'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SAGE_LOG_LEVEL: 'debug', ...env },
    stderr: 'pipe',
  });
  const stderr: string[] = [];
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const client = new Client({ name: 'sage-test', version: '0.0.0' });
  await client.connect(transport);
  const close = async () => {
    await client.close().catch(() => undefined);
  };
  t?.after(close);
  return { client, stderr, close };
}

/** Calls a tool and returns its structured content, failing loudly on a tool error. */
export async function callOk<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) {
    const text = (result.content as Array<{ text?: string }>).map((c) => c.text).join(' ');
    throw new Error(`${name} failed: ${text}`);
  }
  return result.structuredContent as T;
}

/** Calls a tool expecting a tool error; returns its message. */
export async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = await client.callTool({ name, arguments: args });
  if (!result.isError) throw new Error(`${name} unexpectedly succeeded: ${JSON.stringify(result.structuredContent)}`);
  return (result.content as Array<{ text?: string }>).map((c) => c.text).join(' ');
}

/**
 * One tool call from Sage's own MCP clients (the hooks against a remote Sage over HTTP, or a
 * local one over its socket): the tool's structured result, or an error that says what failed.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnavailableError } from '../errors.ts';

export async function callTool(client: Client, tool: string, args: Record<string, unknown>, timeoutMs: number, where: string): Promise<Record<string, unknown>> {
  const result = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: timeoutMs });
  if (result.isError) {
    const text = Array.isArray(result.content) ? result.content.map((c) => (c && typeof c === 'object' && 'text' in c ? String(c.text) : '')).join(' ') : '';
    throw new UnavailableError(`${tool} failed on ${where}: ${text.slice(0, 300)}`);
  }
  const structured = result.structuredContent;
  if (!structured || typeof structured !== 'object') throw new UnavailableError(`${tool} returned no structured result`);
  return structured as Record<string, unknown>;
}

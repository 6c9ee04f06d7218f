/** A prompt that injects recalled context: for clients that offer prompts as slash commands. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from 'zod';
import type { ToolContext } from './tool.ts';
import { errorMessage } from './tool.ts';

/**
 * Built once, like the tools' schemas (tool.ts): stateless HTTP registers the prompt on a new
 * server for every request that uses it. Zod schemas are immutable, so servers share them.
 */
const RECALL_ARGS = {
  topic: z.string().describe('What the next request is about.'),
  budget: z.string().optional().describe('Maximum characters of context (default 4000).'),
};

export function registerPrompts(server: McpServer, ctx: ToolContext): void {
  server.registerPrompt(
    'recall',
    {
      title: 'Recall from memory',
      description: 'Inserts the memories most relevant to a topic, as context for the next request.',
      argsSchema: RECALL_ARGS,
    },
    async ({ topic, budget }) => {
      let text: string;
      try {
        const size = budget === undefined || budget === '' ? 4000 : Number(budget);
        const packed = await ctx.service.context(ctx.caller(), { query: topic, budget: size });
        text = packed.text === '' ? `Sage has no memories about: ${topic}` : packed.text;
      } catch (err) {
        text = `Sage could not recall context: ${errorMessage(err, 'prompt recall')}`;
      }
      return { description: `Memories about ${topic}`, messages: [{ role: 'user' as const, content: { type: 'text' as const, text } }] };
    },
  );
}

import * as z from 'zod';
import { defineTool } from '../tool.ts';
import { filterShape } from './shared.ts';

export const getContext = defineTool({
  name: 'get_context',
  title: 'Get context for a task',
  description:
    'Get one compact block of the memories most relevant to a task or question, with their dates, near-duplicates folded together, cut to a character budget. ' +
    'Call it at the start of a task to recall earlier decisions and facts; put the user request or topic in query.',
  inputSchema: {
    query: z.string().describe('The task, question or topic.'),
    budget: z.number().int().min(200).max(100_000).default(4000).describe('Maximum size of the block in characters (default 4000).'),
    ...filterShape,
  },
  outputSchema: {
    context: z.string().describe('The block to read; empty when nothing relevant is stored.'),
    ids: z.array(z.string()).describe('Ids of the memories shown, in order.'),
    folded: z.number().int().describe('How many near-duplicate memories were folded into the ones shown.'),
    truncated: z.boolean().describe('True when relevant memories did not fit the budget.'),
    project: z.string(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const packed = await ctx.service.context(ctx.caller(), args);
    return { context: packed.text, ids: packed.ids, folded: packed.folded, truncated: packed.truncated, project: packed.project };
  },
});

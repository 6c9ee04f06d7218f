import * as z from 'zod';
import { KindSchema, MemorySchema } from '../../memory/model.ts';
import { defineTool } from '../tool.ts';

export const updateMemory = defineTool({
  name: 'update_memory',
  title: 'Update a memory',
  description:
    'Correct or refine a stored memory by id: replace its content or user_prompt, change its kind or tags, or merge metadata (a key set to null is removed). ' +
    'Use it when a remembered fact became wrong, instead of saving a contradicting copy.',
  inputSchema: {
    id: z.string().describe('The memory id (from save or search results).'),
    content: z.string().optional().describe('New content (for a turn: the assistant response).'),
    user_prompt: z.string().nullable().optional().describe('New user prompt of a turn; null removes it.'),
    kind: KindSchema.optional(),
    tags: z.array(z.string()).max(32).optional().describe('Replaces all tags.'),
    metadata: z.record(z.string(), z.unknown()).optional().describe('Merged into the existing metadata.'),
  },
  outputSchema: { memory: MemorySchema },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => ({ memory: await ctx.service.update(ctx.caller(), args) }),
});

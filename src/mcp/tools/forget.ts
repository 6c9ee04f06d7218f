import * as z from 'zod';
import { defineTool } from '../tool.ts';
import { filterShape } from './shared.ts';

export const forget = defineTool({
  name: 'forget',
  title: 'Forget memories',
  description:
    'Remove memories from search (soft delete: they stay in the database, recoverable by an administrator). ' +
    'Either by ids, or by a filter. With a filter, dry_run defaults to true: first see what would be forgotten, then call again with dry_run false. ' +
    'At most 1000 memories per call.',
  inputSchema: {
    ids: z.array(z.string()).min(1).max(1000).optional().describe('Memory ids to forget.'),
    filter: z.object(filterShape).optional().describe('Forget every memory matching all of these (at least one field).'),
    dry_run: z.boolean().optional().describe('Only report what would be forgotten. Default: false with ids, true with a filter.'),
  },
  outputSchema: {
    dry_run: z.boolean(),
    matched: z.number().int().describe('How many memories matched (may exceed the 1000 handled per call).'),
    forgotten: z.array(z.string()).describe('Ids forgotten now (empty in a dry run).'),
    ids: z.array(z.string()).describe('Ids that matched (at most 1000).'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: (args, ctx) =>
    ctx.service.forget(ctx.caller(), {
      ids: args.ids,
      filter: args.filter,
      dryRun: args.dry_run ?? args.filter !== undefined,
    }),
});

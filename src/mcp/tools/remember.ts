import * as z from 'zod';
import { SaveResultSchema } from '../../memory/model.ts';
import { defineTool } from '../tool.ts';
import { metadata, project, session, tags } from './shared.ts';

export const remember = defineTool({
  name: 'remember',
  title: 'Remember a note or fact',
  description:
    'Store a standalone note or fact in long-term memory: a project convention, a decision and its reason, a user preference, a summary of work done. ' +
    'Write it so it makes sense on its own months later. kind "fact" is for short stable truths, "note" for everything else, "agent_report" for a summary a sub-agent produced.',
  inputSchema: {
    content: z.string().describe('The text to remember, self-contained.'),
    kind: z.enum(['note', 'fact', 'agent_report']).default('note').describe('note (default), fact, or agent_report'),
    tags,
    metadata,
    project,
    session,
  },
  outputSchema: SaveResultSchema.shape,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (args, ctx) =>
    ctx.service.save(ctx.caller(), {
      kind: args.kind,
      content: args.content,
      tags: args.tags,
      metadata: args.metadata,
      project: args.project,
      session: args.session,
    }),
});

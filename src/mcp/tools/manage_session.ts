import * as z from 'zod';
import { InputError } from '../../errors.ts';
import { SessionSchema } from '../../memory/model.ts';
import { defineTool } from '../tool.ts';

export const manageSession = defineTool({
  name: 'manage_session',
  title: 'Manage sessions',
  description:
    'Sessions group memories of one piece of work. action "create" starts one (id optional) and makes it current; ' +
    '"switch" makes an existing session current, so later saves without a session go there; "info" shows one session (default: the current one); ' +
    '"list" lists sessions of the project, most recently active first.',
  inputSchema: {
    action: z.enum(['create', 'switch', 'info', 'list']),
    id: z.string().optional().describe('Session id (create: optional; switch: required; info: default current).'),
    title: z.string().optional().describe('A short title (create).'),
    project: z.string().optional().describe('Project (create, list). "*" lists every project.'),
    limit: z.number().int().min(1).max(100).default(20).describe('list: page size.'),
    cursor: z.string().optional().describe('list: next_cursor of the previous page.'),
  },
  outputSchema: {
    action: z.string(),
    current_session: z.string().nullable(),
    session: SessionSchema.optional(),
    sessions: z.array(SessionSchema).optional(),
    total: z.number().int().optional(),
    next_cursor: z.string().nullable().optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: async (args, ctx) => {
    const caller = ctx.caller();
    switch (args.action) {
      case 'create': {
        const s = await ctx.service.createSession(caller, { id: args.id, title: args.title, project: args.project });
        ctx.setSession(s.id);
        return { action: args.action, current_session: s.id, session: s };
      }
      case 'switch': {
        if (args.id === undefined) throw new InputError('switch needs the id of an existing session (see action "list")');
        const s = await ctx.service.session(caller, args.id);
        ctx.setSession(s.id);
        return { action: args.action, current_session: s.id, session: s };
      }
      case 'info': {
        const id = args.id ?? caller.session;
        if (id === undefined) throw new InputError('no current session: pass an id, or create one first');
        const s = await ctx.service.session(caller, id);
        return { action: args.action, current_session: caller.session ?? null, session: s };
      }
      case 'list': {
        const page = await ctx.service.sessions(caller, { project: args.project, limit: args.limit, cursor: args.cursor });
        return { action: args.action, current_session: caller.session ?? null, ...page };
      }
    }
  },
});

import * as z from 'zod';
import { SaveResultSchema } from '../../memory/model.ts';
import { defineTool } from '../tool.ts';
import { metadata, project, session, tags } from './shared.ts';

const inputSchema = {
  user_prompt: z.string().describe("The user's message, verbatim or lightly trimmed. May be empty."),
  assistant_response: z.string().describe('Your answer: the substance — decisions, code, commands, conclusions.'),
  session,
  project,
  tags,
  metadata,
};

const description =
  'Save one exchange (the user prompt and your response) to long-term memory, so it can be found in later sessions. ' +
  'Call it after an exchange that settled something worth recalling: a decision, a fix, a preference, a non-obvious fact about the code. ' +
  'Saving identical content again is harmless: the existing id is returned with duplicate=true. Very similar memories are listed in near_duplicates.';

export const saveConversation = defineTool({
  name: 'save_conversation',
  title: 'Save conversation turn',
  description,
  inputSchema,
  outputSchema: SaveResultSchema.shape,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (args, ctx) =>
    ctx.service.save(ctx.caller(), {
      kind: 'turn',
      userText: args.user_prompt,
      content: args.assistant_response,
      session: args.session,
      project: args.project,
      tags: args.tags,
      metadata: args.metadata,
    }),
});

/** `S`: the same tool under a one-letter name, because users type it by hand. */
export const saveConversationShort = defineTool({
  ...saveConversation,
  name: 'S',
  title: 'Save conversation turn (short name)',
  description: 'Same as save_conversation, with a one-letter name. ' + description,
});

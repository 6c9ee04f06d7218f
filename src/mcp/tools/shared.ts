/** Input fields that several tools share, described once so every tool says the same thing. */
import * as z from 'zod';
import { KindSchema } from '../../memory/model.ts';

export const project = z
  .string()
  .optional()
  .describe('Project to use. Defaults to the current project (SAGE_PROJECT). In searches, "*" means every project.');
export const session = z.string().optional().describe('Session id. Defaults to the current session, if one was created or switched to.');
export const tags = z.array(z.string()).max(32).optional().describe('Short labels, e.g. ["decision", "db"]. Case-insensitive.');
export const metadata = z.record(z.string(), z.unknown()).optional().describe('Small JSON object of extra facts (ids, file paths, links).');

export const filterShape = {
  project,
  session: z.string().optional().describe('Only memories of this session.'),
  kinds: z.array(KindSchema).optional().describe('Only these kinds: turn, note, fact, agent_report.'),
  tags: z.array(z.string()).max(32).optional().describe('Only memories carrying all of these tags.'),
  since: z.string().optional().describe('Only memories created at or after this ISO 8601 date or date-time.'),
  until: z.string().optional().describe('Only memories created before this ISO 8601 date or date-time.'),
};

import * as z from 'zod';
import { defineTool } from '../tool.ts';

const CountsSchema = z.object({
  memories: z.number().int(),
  by_kind: z.record(z.string(), z.number().int()),
  projects: z.number().int(),
  sessions: z.number().int(),
  deleted: z.number().int(),
  stale_vectors: z.number().int().describe('Memories whose vectors came from another vectorizer version (run `sage reindex`).'),
});

export const StatusShape = {
  sage_version: z.string(),
  vectorizer_version: z.string(),
  node_version: z.string(),
  tenant: z.string(),
  project: z.string(),
  session: z.string().nullable(),
  database: z.object({
    reachable: z.boolean(),
    server_version: z.string().nullable(),
    latency_ms: z.number().nullable(),
    schema_version: z.number().int().nullable(),
    error: z.string().nullable(),
  }),
  counts: CountsSchema.nullable(),
};

export const getStatus = defineTool({
  name: 'get_status',
  title: 'Memory status',
  description: "Sage's health and size: whether the database is reachable, how many memories and sessions this tenant has, and the versions in use.",
  inputSchema: {},
  outputSchema: StatusShape,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (_args, ctx) => ctx.service.status(ctx.caller()),
});

import * as z from 'zod';
import { SearchHitSchema } from '../../memory/model.ts';
import { STRATEGIES } from '../../memory/search.ts';
import { MAX_SEARCH_LIMIT } from '../../memory/service.ts';
import { fitPage } from '../page-size.ts';
import { defineTool } from '../tool.ts';
import { filterShape } from './shared.ts';

export const searchMemory = defineTool({
  name: 'search_memory',
  title: 'Search memory',
  description:
    'Find memories relevant to a query, best first, with a score and why each matched. ' +
    'Write the query as key words or a short question ("pgbouncer timeout fix", "数据库连接池 配置"); English, Chinese and code identifiers all work, and small typos are tolerated. ' +
    'strategy: hybrid (default: words + similarity + recency), lexical (exact words), vector (similarity only), recent (newest first; query optional). ' +
    'Results are paginated: pass next_cursor back as cursor for more. Long texts are cut to keep a page small (truncated: true); read the resource sage://memory/{id} for a whole memory.',
  inputSchema: {
    query: z.string().optional().describe('What to look for. Required except with strategy "recent".'),
    limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).default(10).describe(`How many results (1-${MAX_SEARCH_LIMIT}, default 10).`),
    strategy: z.enum(STRATEGIES).default('hybrid'),
    cursor: z.string().optional().describe('next_cursor from the previous page of the same search.'),
    ...filterShape,
  },
  outputSchema: {
    results: z.array(SearchHitSchema),
    next_cursor: z.string().nullable().describe('Pass as cursor to get the next page; null when there is none.'),
    strategy: z.enum(STRATEGIES),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const page = await ctx.service.search(ctx.caller(), args);
    return { ...page, results: fitPage(page.results) };
  },
});

/**
 * Statistics on the scope expression of the scoped GIN indexes (004_search_scale.ts). Without
 * them the planner guesses how many rows a tenant-and-project key selects (it guessed 51 where
 * 813 matched) and prefers reading a whole project and filtering it over intersecting the key
 * with a bucket inside the index: the near-duplicate check of a save took 15–40 ms instead of
 * 1–5 ms at 10,000 memories. ANALYZE (and autovacuum) keep them current.
 */
import { SCOPE_EXPRESSION } from './004_search_scale.ts';

export const sql = `
CREATE STATISTICS memories_scope ON ${SCOPE_EXPRESSION} FROM memories;
ANALYZE memories;
`;

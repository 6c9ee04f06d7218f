/**
 * Ranking queries run as sage_search, texts are read as sage_runtime (see
 * migrations/004_search_scale.ts for why: under row-level security PostgreSQL uses no GIN
 * index, because no GIN operator is leakproof).
 *
 * What stays true: every ranking query names its tenant explicitly (store/filters.ts puts the
 * tenant first in every predicate and in every scope key), ranking returns only ids, vectors,
 * timestamps and counts, and the memories shown to a caller are read back afterwards under
 * row-level security — so a ranking query that lost its tenant predicate could reorder results
 * but never show another tenant's memory. When sage_search is missing or not granted to the
 * role Sage connects as, ranking simply stays under row-level security (correct, but it scans
 * instead of using the indexes: slow beyond a few thousand memories in a project).
 */

/**
 * The statement that switches the open tenant transaction to sage_search when the connected role
 * may use it, with the role name as `role` (an SQL literal or a parameter). CASE evaluates its
 * branches in order: the role's existence first, then the grants, then set_config — so a missing
 * role or grant never aborts the transaction, and the role stays sage_runtime (it returns NULL).
 * The existence check is to_regrole, not a lookup in the pg_roles view: a fresh backend (every
 * prompt hook) spent ~7 ms parsing the view into this statement. Database.rankThenRead sends it
 * with BEGIN; a save's near-duplicate lookup (store/memories.ts) in its script.
 */
export function enterSearchRoleSql(role: string): string {
  return `SELECT CASE WHEN to_regrole(${role}) IS NULL THEN NULL
                 WHEN pg_has_role(session_user, ${role}, 'MEMBER') AND has_table_privilege(${role}, 'memories', 'SELECT')
                 THEN set_config('role', ${role}, true) END AS role`;
}

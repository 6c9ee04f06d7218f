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
import type { Client } from './db.ts';
import { RUNTIME_ROLE } from './migrations/002_rls.ts';
import { SEARCH_ROLE } from './migrations/004_search_scale.ts';

/**
 * Switches the open tenant transaction to sage_search when the connected role may use it, in
 * one round trip (CASE evaluates its branches in order: the role's existence first, then the
 * grants, then set_config — so a missing role or grant never aborts the transaction). Returns
 * whether it switched. The existence check is to_regrole, not a lookup in the pg_roles view:
 * a fresh backend (every prompt hook) spent ~7 ms parsing the view into this statement.
 */
export async function enterSearchRole(client: Client): Promise<boolean> {
  const res = await client.query<{ role: string | null }>(enterSearchRoleSql('$1'), [SEARCH_ROLE]);
  return res.rows[0]?.role === SEARCH_ROLE;
}

/** enterSearchRole's statement, with the role name as `role` (a parameter or a literal). */
export function enterSearchRoleSql(role: string): string {
  return `SELECT CASE WHEN to_regrole(${role}) IS NULL THEN NULL
                 WHEN pg_has_role(session_user, ${role}, 'MEMBER') AND has_table_privilege(${role}, 'memories', 'SELECT')
                 THEN set_config('role', ${role}, true) END AS role`;
}

/** Back to the runtime role (row-level security) for everything after ranking. */
export async function leaveSearchRole(client: Client): Promise<void> {
  await client.query(`SELECT set_config('role', $1, true)`, [RUNTIME_ROLE]);
}

/** Runs ranking queries as sage_search when available, and always returns to sage_runtime. */
export async function asSearchRole<T>(client: Client, work: () => Promise<T>): Promise<T> {
  if (!(await enterSearchRole(client))) return work();
  // On an error the transaction is aborted and rolled back, which undoes the SET LOCAL too.
  const result = await work();
  await leaveSearchRole(client);
  return result;
}

/**
 * A function that flushes the GIN pending lists of `memories` (store/pending-lists.ts): a
 * memory's ~440 bucket keys and ~130 lexemes go into each GIN index's pending list first, and
 * whichever insert fills a list past gin_pending_list_limit merges all of it into the index
 * trees before it may commit — 36–391 ms every ~33rd save (bench/SCALE-LOG.md). A running Sage
 * flushes the lists itself soon after its saves, from a connection no request waits on.
 *
 * gin_clean_pending_list may only be called by the index's owner, and Sage's requests run as
 * sage_runtime: hence SECURITY DEFINER, owned by the role that migrates (the tables' owner),
 * with a fixed search_path and the table named with its schema, and EXECUTE only for
 * sage_runtime. It takes no argument and touches nothing but the pending lists.
 */
import { RUNTIME_ROLE } from './002_rls.ts';

export const FLUSH_FUNCTION = 'sage_flush_pending_lists';

export const sql = `
DO $migration$
BEGIN
  EXECUTE format($create$
    CREATE FUNCTION %I.${FLUSH_FUNCTION}() RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $body$
      SELECT coalesce(sum(gin_clean_pending_list(i.indexrelid)), 0)::bigint
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
      WHERE i.indrelid = %L::regclass AND a.amname = 'gin'
    $body$$create$, current_schema(), format('%I.memories', current_schema()));
  EXECUTE format('REVOKE ALL ON FUNCTION %I.${FLUSH_FUNCTION}() FROM PUBLIC', current_schema());
  EXECUTE format('GRANT EXECUTE ON FUNCTION %I.${FLUSH_FUNCTION}() TO ${RUNTIME_ROLE}', current_schema());
END
$migration$;
`;

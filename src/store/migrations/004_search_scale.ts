/**
 * Search at scale (issue 7; measured with `npm run bench:scale`, see the README's "Scale").
 *
 * 1. Scoped GIN indexes. A GIN index cannot lead with the tenant (no btree_gin), so a term or
 *    bucket lookup used to return every tenant's and every project's rows, and each one was
 *    fetched from the heap only to be filtered out: a search in a small project paid for the
 *    whole table. The new indexes carry a scope expression beside the searched column —
 *    ARRAY[tenant, tenant || U+001F || project] — so `scope @> ARRAY[key] AND lexemes @@ q`
 *    is answered inside one index scan, and the heap is visited only for rows in scope. U+001F
 *    cannot occur in tenant or project names (control characters are refused), so keys are
 *    unambiguous. They replace the unscoped indexes (a multi-column GIN index also serves a
 *    query on its second column alone). store/filters.ts `scopeSql` must stay in step with
 *    SCOPE_EXPRESSION.
 *
 * 2. sage_search: a NOLOGIN role with BYPASSRLS that may only SELECT. Under row-level security
 *    PostgreSQL uses an index for a query condition only when its operator is leakproof, and
 *    no GIN operator is (tsvector @@ tsquery, array && and @> are not): as sage_runtime every
 *    search scanned the project's rows and detoasted each one (seconds at 100,000 memories).
 *    Ranking queries therefore run as sage_search (src/store/search-role.ts): they return ids,
 *    vectors and counts, always under an explicit tenant predicate (store/filters.ts); texts
 *    are read afterwards as sage_runtime, under row-level security. Creating a BYPASSRLS role
 *    needs a superuser: when the migrating role is not one, this step is skipped with a notice
 *    and search keeps working under row-level security, without its indexes (an administrator
 *    can create the role and grant it later, as the notice says: Sage checks on every search).
 *
 * 3. Vectors are stored uncompressed out of line (STORAGE EXTERNAL): hashed float vectors and
 *    bucket lists do not compress, and trying cost ~40% of an insert's heap CPU; reading them
 *    back skips a decompression attempt. Applies to rows written from now on.
 */
export const SEARCH_ROLE = 'sage_search';

/** Must match the expression in store/filters.ts `scopeSql`, or the indexes are not used. */
export const SCOPE_EXPRESSION = `(ARRAY[tenant, tenant || E'\\x1f' || project])`;

export const sql = `
CREATE INDEX memories_scoped_lexemes ON memories USING gin (${SCOPE_EXPRESSION}, lexemes) WHERE deleted_at IS NULL;
CREATE INDEX memories_scoped_vector_keys ON memories USING gin (${SCOPE_EXPRESSION}, vector_keys) WHERE deleted_at IS NULL;
DROP INDEX memories_lexemes;
DROP INDEX memories_vector_keys;

ALTER TABLE memories ALTER COLUMN vector SET STORAGE EXTERNAL, ALTER COLUMN vector_keys SET STORAGE EXTERNAL;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${SEARCH_ROLE}') THEN
    BEGIN
      CREATE ROLE ${SEARCH_ROLE} NOLOGIN BYPASSRLS;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN
        NULL; -- created at the same moment by a migration of another database in this cluster
      WHEN insufficient_privilege THEN
        RAISE NOTICE '%', format('role ${SEARCH_ROLE} not created (needs a superuser): search works under row-level security, without its indexes. '
          'As an administrator: CREATE ROLE ${SEARCH_ROLE} NOLOGIN BYPASSRLS; GRANT USAGE ON SCHEMA %I TO ${SEARCH_ROLE}; '
          'GRANT SELECT ON %I.memories TO ${SEARCH_ROLE}; GRANT ${SEARCH_ROLE} TO %I;', current_schema(), current_schema(), current_user);
        RETURN;
    END;
  END IF;
  -- The tables' owner may grant these even when it is not a member of the role.
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO ${SEARCH_ROLE}', current_schema());
  GRANT SELECT ON memories TO ${SEARCH_ROLE};
  IF NOT pg_has_role(current_user, '${SEARCH_ROLE}', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT ${SEARCH_ROLE} TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE '%', format('%I is not a member of ${SEARCH_ROLE} and may not grant it: search works under row-level security, without its indexes. '
        'As an administrator: GRANT ${SEARCH_ROLE} TO %I;', current_user, current_user);
    END;
  END IF;
END
$$;
`;

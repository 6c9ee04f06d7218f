/**
 * Tenant isolation enforced by PostgreSQL: row-level security on every tenant-keyed table,
 * keyed by the per-transaction setting `sage.tenant` that Database.tx sets (SET LOCAL), so a
 * query that forgets its tenant predicate still sees only its own tenant's rows — and a
 * transaction that never set a tenant sees nothing (current_setting(..., true) is NULL or '').
 *
 * Roles. Superusers and BYPASSRLS roles always bypass row-level security, and a table's owner
 * bypasses it unless FORCE is set. So tenant work never runs as the connected role: every
 * tenant transaction does SET LOCAL ROLE sage_runtime (see beginTenant in ../db.ts), a NOLOGIN
 * role that owns nothing and holds only the table privileges granted here. That holds on a
 * laptop where Sage connects as a superuser, and when an administrator provisions roles:
 *
 *   CREATE ROLE sage_runtime NOLOGIN;                       -- or let this migration create it
 *   CREATE ROLE sage LOGIN PASSWORD '…' IN ROLE sage_runtime; -- the role Sage connects as
 *   (then run `sage migrate` once as the owner; the login role needs no CREATE privilege)
 *
 * The migration creates sage_runtime when it is missing (needs CREATEROLE or superuser) and
 * makes the migrating role a member so it can SET ROLE. Roles are shared by every database of
 * a cluster: two databases migrating at the same moment may both try to create it, and the
 * loser's duplicate error is ignored (the advisory lock in migrate.ts is per database).
 *
 * FORCE also applies to the owner: a later migration that rewrites data in these tables must
 * ALTER TABLE … NO FORCE ROW LEVEL SECURITY, do its work, and FORCE it again in the same
 * transaction — otherwise it silently sees no rows. A new tenant-keyed table adds
 * `tenantIsolation('name')` to its migration (test/integration/rls.test.ts checks every table
 * with a tenant column).
 */

export const RUNTIME_ROLE = 'sage_runtime';

/** Row-level security and runtime privileges for one table with a `tenant` column. */
export function tenantIsolation(table: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`tenantIsolation: unexpected table name ${table}`);
  return `
ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE ${table} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON ${table};
CREATE POLICY tenant_isolation ON ${table}
  USING (tenant = current_setting('sage.tenant', true))
  WITH CHECK (tenant = current_setting('sage.tenant', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO ${RUNTIME_ROLE};
`;
}

export const sql = `
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${RUNTIME_ROLE}') THEN
    BEGIN
      CREATE ROLE ${RUNTIME_ROLE} NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN
        NULL; -- created at the same moment by a migration of another database in this cluster
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'role ${RUNTIME_ROLE} is missing and % may not create roles: as an administrator run CREATE ROLE ${RUNTIME_ROLE} NOLOGIN; GRANT ${RUNTIME_ROLE} TO %;', current_user, current_user;
    END;
  END IF;
  IF NOT pg_has_role(current_user, '${RUNTIME_ROLE}', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT ${RUNTIME_ROLE} TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION '% is not a member of ${RUNTIME_ROLE} and may not grant it: as an administrator run GRANT ${RUNTIME_ROLE} TO %;', current_user, current_user;
    END;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO ${RUNTIME_ROLE}', current_schema());
END
$$;
-- A dedicated login role checks the schema version at start (it inherits this through membership).
GRANT SELECT ON sage_migrations TO ${RUNTIME_ROLE};
${tenantIsolation('sessions')}
${tenantIsolation('memories')}
`;

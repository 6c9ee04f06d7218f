/** SQL for sessions: persisted so that a session outlives the process that opened it. */
import type { Session } from '../memory/model.ts';
import type { Client } from './db.ts';

interface SessionRow {
  id: string;
  project: string;
  title: string | null;
  created_at: Date;
  last_active: Date;
  memory_count: number;
}

function toSession(row: SessionRow): Session {
  return {
    id: row.id,
    project: row.project,
    title: row.title,
    created_at: row.created_at.toISOString(),
    last_active: row.last_active.toISOString(),
    memory_count: row.memory_count,
  };
}

const SELECT = `SELECT s.id, s.project, s.title, s.created_at, s.last_active,
  (SELECT count(*)::int FROM memories m WHERE m.tenant = s.tenant AND m.session_id = s.id AND m.deleted_at IS NULL) AS memory_count
  FROM sessions s`;

/**
 * The statement that creates a session or, if it exists, touches it, with its parameters
 * numbered from `first`: tenant, id, project, title, at. Shared by upsertSession and by a
 * save, which runs it as a CTE of the memory's INSERT to spare a round trip.
 */
export function upsertSessionSql(first: number): string {
  const [tenant, id, project, title, at] = [0, 1, 2, 3, 4].map((i) => `$${first + i}`);
  return `INSERT INTO sessions (tenant, id, project, title, created_at, last_active)
     VALUES (${tenant}, ${id}, ${project}, ${title}, coalesce(${at}::timestamptz, now()), coalesce(${at}::timestamptz, now()))
     ON CONFLICT (tenant, id) DO UPDATE
       SET last_active = greatest(sessions.last_active, excluded.last_active),
           title = coalesce(excluded.title, sessions.title)`;
}

/** Creates the session or, if it exists, touches it. `at` lets imports keep historic times. */
export async function upsertSession(
  client: Client,
  tenant: string,
  id: string,
  project: string,
  title: string | null,
  at?: Date,
): Promise<void> {
  await client.query(upsertSessionSql(1), [tenant, id, project, title, at ?? null]);
}

/** Imports a session exactly as exported (no touching of times). */
export async function restoreSession(client: Client, tenant: string, s: Omit<Session, 'memory_count'>): Promise<void> {
  await client.query(
    `INSERT INTO sessions (tenant, id, project, title, created_at, last_active) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant, id) DO NOTHING`,
    [tenant, s.id, s.project, s.title, s.created_at, s.last_active],
  );
}

export async function getSession(client: Client, tenant: string, id: string): Promise<Session | undefined> {
  const res = await client.query<SessionRow>(`${SELECT} WHERE s.tenant = $1 AND s.id = $2`, [tenant, id]);
  const row = res.rows[0];
  return row ? toSession(row) : undefined;
}

export async function listSessions(
  client: Client,
  tenant: string,
  project: string | undefined,
  limit: number,
  offset: number,
): Promise<{ sessions: Session[]; total: number }> {
  const res = await client.query<SessionRow & { total: number }>(
    `${SELECT.replace('FROM sessions s', ', count(*) OVER ()::int AS total FROM sessions s')}
     WHERE s.tenant = $1 AND ($2::text IS NULL OR s.project = $2)
     ORDER BY s.last_active DESC, s.id LIMIT $3 OFFSET $4`,
    [tenant, project ?? null, limit, offset],
  );
  return { sessions: res.rows.map(toSession), total: res.rows[0]?.total ?? 0 };
}

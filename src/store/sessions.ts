/** SQL for sessions: persisted so that a session outlives the process that opened it. */
import type { Session } from '../memory/model.ts';
import type { Client } from './db.ts';
import { Params } from './filters.ts';

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

/** What creates or touches a session. `at` lets imports keep historic times (default: now). */
export interface SessionTouch {
  tenant: string;
  id: string;
  project: string;
  title: string | null;
  at: Date | null;
}

/**
 * The statement that creates a session or, if it exists, touches it, with its values added to
 * `params` (numbered parameters, or literals for a one-round-trip script). Shared by
 * upsertSession and by a save, which runs it as a CTE of the memory's INSERT.
 */
export function upsertSessionSql(params: Params, s: SessionTouch): string {
  const at = `${params.add(s.at)}::timestamptz`;
  return `INSERT INTO sessions (tenant, id, project, title, created_at, last_active)
     VALUES (${params.add(s.tenant)}, ${params.add(s.id)}, ${params.add(s.project)}, ${params.add(s.title)}, coalesce(${at}, now()), coalesce(${at}, now()))
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
  const params = new Params();
  await client.query(upsertSessionSql(params, { tenant, id, project, title, at: at ?? null }), params.values);
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

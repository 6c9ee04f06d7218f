/**
 * SQL for capture cursors (see migrations/003_capture.ts). Functions take a client inside a
 * tenant transaction (Database.tx).
 */
import type { Client } from './db.ts';

export interface CaptureCursor {
  lastUuid: string;
  lastLine: number;
  turns: number;
}

export async function getCursor(client: Client, tenant: string, source: string, sessionId: string): Promise<CaptureCursor | undefined> {
  const res = await client.query<{ last_uuid: string; last_line: number; turns: number }>(
    'SELECT last_uuid, last_line, turns FROM capture_cursors WHERE tenant = $1 AND source = $2 AND session_id = $3',
    [tenant, source, sessionId],
  );
  const row = res.rows[0];
  return row ? { lastUuid: row.last_uuid, lastLine: row.last_line, turns: row.turns } : undefined;
}

/**
 * Moves the cursor forward, never back: two captures of the same session running at once
 * (Stop and SessionEnd) may finish in either order. `turns` counts the turns saved.
 */
export async function advanceCursor(client: Client, tenant: string, source: string, sessionId: string, to: { lastUuid: string; lastLine: number; addTurns: number }): Promise<void> {
  await client.query(
    `INSERT INTO capture_cursors (tenant, source, session_id, last_uuid, last_line, turns)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant, source, session_id) DO UPDATE
       SET last_uuid = EXCLUDED.last_uuid, last_line = EXCLUDED.last_line,
           turns = capture_cursors.turns + EXCLUDED.turns, updated_at = now()
       WHERE capture_cursors.last_line < EXCLUDED.last_line`,
    [tenant, source, sessionId, to.lastUuid, to.lastLine, to.addTurns],
  );
}

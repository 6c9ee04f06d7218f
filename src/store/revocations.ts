/**
 * The token revocation list in PostgreSQL (migration 008). Rows are only ever added, so a server
 * keeps its copy current by reading the recent ones (`revocationsSince`).
 */
import type { Database } from './db.ts';

export interface RevocationRow {
  id: number;
  /** Every token of this subject issued before `issuedBefore`… */
  subject: string | null;
  issuedBefore: Date | null;
  /** …or exactly the token with this jti. */
  jti: string | null;
  reason: string | null;
  revokedAt: Date;
}

export type NewRevocation = { subject: string; issuedBefore: Date; reason?: string | undefined } | { jti: string; reason?: string | undefined };

interface Row {
  id: string;
  subject: string | null;
  issued_before: Date | null;
  jti: string | null;
  reason: string | null;
  revoked_at: Date;
}

const COLUMNS = 'id::text AS id, subject, issued_before, jti, reason, revoked_at';

function fromRow(r: Row): RevocationRow {
  return { id: Number(r.id), subject: r.subject, issuedBefore: r.issued_before, jti: r.jti, reason: r.reason, revokedAt: r.revoked_at };
}

export async function addRevocation(db: Database, revocation: NewRevocation): Promise<RevocationRow> {
  const res = await db.serverTx((client) =>
    'jti' in revocation
      ? client.query<Row>(`INSERT INTO token_revocations (jti, reason) VALUES ($1, $2) RETURNING ${COLUMNS}`, [revocation.jti, revocation.reason ?? null])
      : client.query<Row>(`INSERT INTO token_revocations (subject, issued_before, reason) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`, [
          revocation.subject,
          revocation.issuedBefore,
          revocation.reason ?? null,
        ]),
  );
  return fromRow(res.rows[0]!);
}

/**
 * How far back before the latest revocation a reader has seen it reads again. Rows do not become
 * visible in id or revoked_at order: revoked_at is when the inserting transaction began, the id
 * when it drew from the sequence, and two `sage revoke` at once may commit the other way round —
 * a reader that went on from the last id it saw could miss one for good. A single-row insert
 * commits within milliseconds of its start; a minute is far beyond that.
 */
export const REREAD_MS = 60_000;

/** The revocations (all with no `since`, else those revoked at most REREAD_MS before it), oldest first. */
export async function revocationsSince(db: Database, since?: Date): Promise<RevocationRow[]> {
  const res = await db.serverTx((client) =>
    since === undefined
      ? client.query<Row>(`SELECT ${COLUMNS} FROM token_revocations ORDER BY revoked_at, id`)
      : client.query<Row>(`SELECT ${COLUMNS} FROM token_revocations WHERE revoked_at >= $1 ORDER BY revoked_at, id`, [new Date(since.getTime() - REREAD_MS)]),
  );
  return res.rows.map(fromRow);
}

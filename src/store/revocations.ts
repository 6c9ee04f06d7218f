/**
 * The token revocation list in PostgreSQL (migration 008): rows are only ever added, so a
 * server keeps its copy current by reading the rows after the last id it has seen.
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

/** The revocations added after `afterId`, oldest first. */
export async function revocationsAfter(db: Database, afterId: number): Promise<RevocationRow[]> {
  const res = await db.serverTx((client) => client.query<Row>(`SELECT ${COLUMNS} FROM token_revocations WHERE id > $1 ORDER BY id`, [afterId]));
  return res.rows.map(fromRow);
}

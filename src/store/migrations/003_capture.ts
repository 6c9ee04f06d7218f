/**
 * Capture cursors: how far automatic capture (Claude Code hooks, transcript imports) has read
 * each source session, so that capturing again saves only what is new — and a memory the user
 * forgot is not captured back. Keyed by tenant first, like every table, with the same
 * row-level security (see 002_rls.ts).
 */
import { tenantIsolation } from './002_rls.ts';

export const sql = `
CREATE TABLE capture_cursors (
  tenant      text        NOT NULL,
  -- Where the sessions come from, e.g. 'claude-code'.
  source      text        NOT NULL,
  -- The source's own session id (Claude Code's session UUID).
  session_id  text        NOT NULL,
  -- The last transcript entry captured, and its line (transcripts are append-only).
  last_uuid   text        NOT NULL,
  last_line   integer     NOT NULL CHECK (last_line >= 0),
  turns       integer     NOT NULL DEFAULT 0 CHECK (turns >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, source, session_id)
);
${tenantIsolation('capture_cursors')}
`;

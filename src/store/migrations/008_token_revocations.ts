/**
 * Revoked tokens (`sage revoke`, auth/revocations.ts). A JWT stays valid until its exp — 30 days
 * by default — and the only other way to stop one was a new key, which stops every token at once.
 * A row here stops either one token (its `jti`) or every token of a subject issued before a
 * moment (a member who left, a lost laptop: then mint them a new one).
 *
 * Server-wide, not tenant data: a subject is whoever a token names, whatever tenant it reaches,
 * so there is no `tenant` column and no row-level security. sage_runtime may read the list and
 * add to it (revoking only takes access away); nothing updates or deletes a row.
 */
import { RUNTIME_ROLE } from './002_rls.ts';

export const sql = `
CREATE TABLE token_revocations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subject text,
  issued_before timestamptz,
  jti text,
  reason text,
  revoked_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT token_revocations_one_kind CHECK (
    (subject IS NOT NULL AND issued_before IS NOT NULL AND jti IS NULL)
    OR (jti IS NOT NULL AND subject IS NULL AND issued_before IS NULL)
  ),
  CONSTRAINT token_revocations_sizes CHECK (length(subject) <= 200 AND length(jti) <= 200 AND length(reason) <= 500)
);
-- Servers read the recent rows every few seconds (store/revocations.ts).
CREATE INDEX token_revocations_revoked_at ON token_revocations (revoked_at);
GRANT SELECT, INSERT ON token_revocations TO ${RUNTIME_ROLE};
`;

/**
 * `sage revoke`: stops tokens before their exp, on every `sage serve` of the database within
 * seconds (auth/revocations.ts). `--sub NAME` revokes every token of NAME issued until now (a
 * member who left, a lost laptop; mint a new one afterwards), `--jti ID` or `--token TOKEN` one
 * token. `--list` prints the revocations. Revocations are permanent: a subject's revocation only
 * ever refuses tokens issued before it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { isUsableName } from '../auth/tenant.ts';
import type { Flags } from '../config.ts';
import { InputError } from '../errors.ts';
import { addRevocation, revocationsSince, type NewRevocation, type RevocationRow } from '../store/revocations.ts';
import { openRuntime, type Command } from './command.ts';

const HELP = `  --sub NAME           Revoke every token of this subject (its "sub") issued until now; every
                       \`sage serve\` of the database refuses them within 2 s (401), no restart.
                       Tokens minted after the command returns work
  --jti ID             Revoke the one token with this "jti" (\`sage token\` gives every token one)
  --token TOKEN        Revoke this token (its jti is read from it; the signature is not checked)
  --reason TEXT        Why, kept with the revocation (at most 500 characters)
  --list               Print the revocations, oldest first, and exit
  --database-url URL   PostgreSQL URL (env DATABASE_URL or DATABASE_URL_FILE)
  --log-level LEVEL    debug | info | warn | error | silent (env SAGE_LOG_LEVEL)`;

function text(flag: string, value: unknown, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isUsableName(value, max)) {
    throw new InputError(`${flag} must be 1 to ${max} characters, without surrounding spaces or control characters`);
  }
  return value;
}

/** The one revocation the flags ask for. */
function requested(flags: Flags, now: Date): NewRevocation {
  const reason = text('--reason', flags.reason, 500);
  if ([flags.sub, flags.jti, flags.token].filter((v) => v !== undefined).length !== 1) throw new InputError('name exactly one of --sub, --jti or --token (or --list)');
  if (flags.sub !== undefined) return { subject: text('--sub', flags.sub, 200)!, issuedBefore: now, reason };
  if (flags.jti !== undefined) return { jti: text('--jti', flags.jti, 200)!, reason };
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(String(flags.token).trim());
  } catch {
    throw new InputError('--token is not a JWT (header.payload.signature)');
  }
  if (typeof claims.jti !== 'string') {
    throw new InputError(`--token has no "jti" claim, so it cannot be revoked alone${typeof claims.sub === 'string' ? `: revoke its subject with --sub ${claims.sub}` : ''}`);
  }
  return { jti: text('the token\'s "jti"', claims.jti, 200)!, reason };
}

function what(row: RevocationRow): string {
  return row.jti !== null ? `token ${row.jti}` : `tokens of ${row.subject} issued before ${row.issuedBefore!.toISOString()}`;
}

function describe(row: RevocationRow): string {
  return `${row.revokedAt.toISOString()}  ${what(row)}${row.reason ? `  (${row.reason})` : ''}`;
}

export const revokeCommand: Command = {
  name: 'revoke',
  summary: 'Revoke tokens before they expire: all of a subject, or one (by jti or the token)',
  usage: 'sage revoke (--sub NAME | --jti ID | --token TOKEN) [--reason TEXT]  |  sage revoke --list',
  details: HELP,
  options: {
    sub: { type: 'string' },
    jti: { type: 'string' },
    token: { type: 'string' },
    reason: { type: 'string' },
    list: { type: 'boolean' },
    'database-url': { type: 'string' },
    'log-level': { type: 'string' },
  },
  async run(flags) {
    if (flags.list === true) {
      if (flags.sub !== undefined || flags.jti !== undefined || flags.token !== undefined || flags.reason !== undefined) throw new InputError('--list takes no other option');
      const { db } = openRuntime(flags, 'sage-revoke');
      try {
        const rows = await revocationsSince(db);
        process.stdout.write(rows.length === 0 ? 'no token is revoked\n' : `${rows.map(describe).join('\n')}\n`);
        return 0;
      } finally {
        await db.close();
      }
    }
    // Revocation times are compared with `iat`, which has whole seconds: a token minted in the
    // second of the revocation but after it would read as older. The command returns only once
    // that second is over, so whatever is minted after it is accepted.
    const now = new Date();
    const revocation = requested(flags, now);
    const { db } = openRuntime(flags, 'sage-revoke');
    try {
      const row = await addRevocation(db, revocation);
      await sleep(1000 - (Date.now() % 1000) + 5);
      process.stdout.write(`revoked ${what(row)}\n`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

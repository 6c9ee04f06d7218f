/**
 * `sage init-secrets`: creates, once, the random secrets a container deployment needs, and
 * keeps them. compose.yaml runs it as a one-shot service before the database and Sage start,
 * writing into volumes, so a fresh `docker compose up -d` needs no configuration and no secret
 * ever sits in an image, in compose.yaml or in the environment:
 *
 *   DIR/jwt_secret              HS256 key for `sage serve` and `sage token` (SAGE_JWT_SECRET_FILE)
 *   DIR/database_url            postgres://USER:PASSWORD@HOST:PORT/NAME (DATABASE_URL_FILE)
 *   DB_DIR/postgres_password    the database superuser's password, which the sage-db image
 *                               reads on its first start (POSTGRES_PASSWORD_FILE)
 *
 * An existing file is never replaced — the database was initialised with that password — so it
 * is safe to run on every start; a user may also put their own files there beforehand. Files
 * are written atomically (temporary file + rename) with mode 0640: readable by this process's
 * user and group, so a database container running in that group (compose.yaml runs this as
 * 65532:999, the sage-db image's postgres group) can read its password. Nothing secret is
 * printed.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import type { Command } from './command.ts';

const HELP = `  --dir DIR            Where jwt_secret and database_url go (required)
  --db-dir DIR         Where postgres_password goes (default: --dir)
  --db-host HOST       Database host in database_url (default sage-db)
  --db-port N          Database port (default 5432)
  --db-user NAME       Database user (default sage)
  --db-name NAME       Database name (default sage)

Existing files are kept; only missing ones are created.`;

/** 48 random bytes = 384 bits for the HMAC key (HS256 needs at least 256). */
const JWT_SECRET_BYTES = 48;
/** 24 random bytes = 192 bits; base64url needs no escaping in a URL. */
const PASSWORD_BYTES = 24;
const FILE_MODE = 0o640;

function stringFlag(flags: Record<string, unknown>, name: string, fallback?: string): string {
  const value = flags[name];
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (fallback !== undefined) return fallback;
  throw new InputError(`--${name} is required`);
}

function checkIdentifier(flag: string, value: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) throw new InputError(`${flag} must be lower-case letters, digits and _ (got "${value}")`);
  return value;
}

function readFirstLine(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const line = readFileSync(path, 'utf8').split(/\r?\n/, 1)[0] ?? '';
  return line === '' ? undefined : line;
}

/** Writes a new file atomically with FILE_MODE; never replaces an existing one. */
function create(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, content, { mode: FILE_MODE, flag: 'wx' });
    chmodSync(tmp, FILE_MODE); // the mode given to writeFileSync is reduced by the umask
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export const initSecretsCommand: Command = {
  name: 'init-secrets',
  summary: 'Create the random secrets of a container deployment once (JWT key, database password and URL)',
  usage: 'sage init-secrets --dir DIR [--db-dir DIR] [--db-host sage-db] [--db-user sage] [--db-name sage]',
  details: HELP,
  options: {
    dir: { type: 'string' },
    'db-dir': { type: 'string' },
    'db-host': { type: 'string' },
    'db-port': { type: 'string' },
    'db-user': { type: 'string' },
    'db-name': { type: 'string' },
  },
  async run(flags) {
    const dir = stringFlag(flags, 'dir');
    const dbDir = stringFlag(flags, 'db-dir', dir);
    const host = stringFlag(flags, 'db-host', 'sage-db');
    if (!/^[A-Za-z0-9.-]+$/.test(host) && !/^\[[0-9A-Fa-f:.]+\]$/.test(host)) throw new InputError(`--db-host must be a host name or address (got "${host}")`);
    const portText = stringFlag(flags, 'db-port', '5432');
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError(`--db-port must be a port number (got "${portText}")`);
    const user = checkIdentifier('--db-user', stringFlag(flags, 'db-user', 'sage'));
    const name = checkIdentifier('--db-name', stringFlag(flags, 'db-name', 'sage'));

    for (const d of new Set([dir, dbDir])) mkdirSync(d, { recursive: true, mode: 0o750 });
    const files = { jwt: join(dir, 'jwt_secret'), url: join(dir, 'database_url'), password: join(dbDir, 'postgres_password') };
    const created: string[] = [];
    const kept: string[] = [];

    if (existsSync(files.jwt)) kept.push(files.jwt);
    else {
      create(files.jwt, `${randomBytes(JWT_SECRET_BYTES).toString('base64url')}\n`);
      created.push(files.jwt);
    }

    // One password for both files: the one already given to the database, if any.
    let password = readFirstLine(files.password);
    if (password === undefined && existsSync(files.url)) {
      try {
        password = decodeURIComponent(new URL(readFileSync(files.url, 'utf8').trim()).password) || undefined;
      } catch {
        throw new InputError(`${files.url} exists but holds no valid URL; fix or remove it`);
      }
    }
    password ??= randomBytes(PASSWORD_BYTES).toString('base64url');

    if (existsSync(files.password)) kept.push(files.password);
    else {
      create(files.password, `${password}\n`);
      created.push(files.password);
    }
    if (existsSync(files.url)) kept.push(files.url);
    else {
      create(files.url, `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}/${name}\n`);
      created.push(files.url);
    }

    for (const f of created) process.stderr.write(`sage init-secrets: created ${f}\n`);
    for (const f of kept) process.stderr.write(`sage init-secrets: kept ${f}\n`);
    return 0;
  },
};

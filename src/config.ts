/**
 * One configuration schema for every command. Each setting can come from a command-line flag,
 * an environment variable, or (for secrets) a file named by `<VAR>_FILE`; precedence is
 * flags > environment > files > defaults. Validation happens once, here, and a bad value is
 * reported as one line that names the setting and the source it came from.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { ConfigError } from './errors.ts';

// Said plainly where zod would say "expected number, received NaN"; range messages stay zod's.
const wholeNumber = () => z.coerce.number({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a whole number' : undefined) }).int({ error: 'must be a whole number' });
const PORT = 'must be a port number, 0 to 65535';
const port = wholeNumber().min(0, { error: PORT }).max(65535, { error: PORT });
const positiveInt = wholeNumber().positive({ error: 'must be at least 1' });

/** What a setting is, where it may come from, and how it is validated. */
interface Setting {
  flag: string;
  env: string;
  /** Environment variable naming a file whose (trimmed) content is the value. */
  fileEnv?: string;
  schema: z.ZodType;
}

const identifier = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .refine((s) => !/[\u0000-\u001f]/.test(s), 'must not contain control characters');

export const SETTINGS = {
  databaseUrl: {
    flag: 'database-url',
    env: 'DATABASE_URL',
    fileEnv: 'DATABASE_URL_FILE',
    schema: z
      .string()
      .trim()
      .min(1, 'is empty')
      .refine((s) => /^postgres(ql)?:\/\//.test(s), 'must be a postgres:// or postgresql:// URL')
      .optional(),
  },
  project: { flag: 'project', env: 'SAGE_PROJECT', schema: identifier.default('default') },
  tenant: { flag: 'tenant', env: 'SAGE_TENANT', schema: identifier.default('local') },
  logLevel: {
    flag: 'log-level',
    env: 'SAGE_LOG_LEVEL',
    schema: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  },
  vectorDimension: {
    flag: 'vector-dimension',
    env: 'SAGE_VECTOR_DIMENSION',
    schema: positiveInt
      .refine((n) => n >= 2 ** 10 && n <= 2 ** 24 && (n & (n - 1)) === 0, 'must be a power of two from 1024 to 16777216')
      .default(2 ** 20),
  },
  dbPoolMax: { flag: 'db-pool-max', env: 'SAGE_DB_POOL_MAX', schema: positiveInt.max(200).default(10) },
  dbStatementTimeoutMs: {
    flag: 'db-statement-timeout-ms',
    env: 'SAGE_DB_STATEMENT_TIMEOUT_MS',
    schema: positiveInt.default(15_000),
  },
  /** Extra secret patterns (regexes, one per line or a JSON array); see src/memory/redact.ts. */
  redactPatterns: { flag: 'redact-patterns', env: 'SAGE_REDACT_PATTERNS', fileEnv: 'SAGE_REDACT_PATTERNS_FILE', schema: z.string().optional() },
  /** Directory → project name for hooks and imports (`/path=name` lines, or a JSON object); see src/claude/project.ts. */
  projectMap: { flag: 'project-map', env: 'SAGE_PROJECT_MAP', fileEnv: 'SAGE_PROJECT_MAP_FILE', schema: z.string().optional() },
  /** The local socket that hooks ask before opening the database (src/transport/local-socket.ts): a path, or "off". */
  hookSocket: {
    flag: 'hook-socket',
    env: 'SAGE_HOOK_SOCKET',
    schema: z
      .string()
      .trim()
      .refine((s) => s === 'off' || (s.startsWith('/') && Buffer.byteLength(s) <= 100), 'must be "off" or an absolute path of at most 100 bytes')
      .optional(),
  },
  httpHost: { flag: 'host', env: 'SAGE_HTTP_HOST', schema: z.string().trim().min(1).default('127.0.0.1') },
  httpPort: { flag: 'port', env: 'SAGE_HTTP_PORT', schema: port.default(8080) },
  // --- HTTP (`sage serve`) and JWT. Key settings are file paths (read as bytes by src/auth/keys.ts).
  /** The URL clients use to reach /mcp when Sage sits behind a proxy (for the RFC 9728 metadata). */
  httpPublicUrl: {
    flag: 'public-url',
    env: 'SAGE_HTTP_PUBLIC_URL',
    schema: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  },
  httpBodyLimit: { flag: 'body-limit', env: 'SAGE_HTTP_BODY_LIMIT', schema: positiveInt.max(64 * 2 ** 20).default(2 ** 20) },
  httpRequestTimeoutMs: { flag: 'request-timeout-ms', env: 'SAGE_HTTP_REQUEST_TIMEOUT_MS', schema: positiveInt.min(100).max(600_000).default(30_000) },
  /** Host names accepted in the Host header (DNS-rebinding protection); "*" accepts any. */
  allowedHosts: { flag: 'allowed-hosts', env: 'SAGE_ALLOWED_HOSTS', schema: z.string().trim().optional() },
  /** Origins accepted when a browser sends Origin; "*" accepts any. */
  allowedOrigins: { flag: 'allowed-origins', env: 'SAGE_ALLOWED_ORIGINS', schema: z.string().trim().optional() },
  jwtSecretFile: { flag: 'jwt-secret-file', env: 'SAGE_JWT_SECRET_FILE', schema: z.string().trim().min(1).optional() },
  jwtPublicKeyFile: { flag: 'jwt-public-key-file', env: 'SAGE_JWT_PUBLIC_KEY_FILE', schema: z.string().trim().min(1).optional() },
  jwksFile: { flag: 'jwks-file', env: 'SAGE_JWKS_FILE', schema: z.string().trim().min(1).optional() },
  jwtPrivateKeyFile: { flag: 'jwt-private-key-file', env: 'SAGE_JWT_PRIVATE_KEY_FILE', schema: z.string().trim().min(1).optional() },
  jwtIssuer: { flag: 'jwt-issuer', env: 'SAGE_JWT_ISSUER', schema: z.string().trim().min(1).optional() },
  jwtAudience: { flag: 'jwt-audience', env: 'SAGE_JWT_AUDIENCE', schema: z.string().trim().min(1).optional() },
  /** Comma-separated subset of HS256, EdDSA, ES256; default: what the configured key can verify. */
  jwtAlgorithms: {
    flag: 'jwt-algorithms',
    env: 'SAGE_JWT_ALGORITHMS',
    schema: z
      .string()
      .trim()
      .refine((s) => s.split(',').every((a) => ['HS256', 'EdDSA', 'ES256'].includes(a.trim())), 'must be a comma-separated list of HS256, EdDSA, ES256')
      .optional(),
  },
  /** The claim that names the tenant (default "sub"). */
  tenantClaim: { flag: 'tenant-claim', env: 'SAGE_TENANT_CLAIM', schema: z.string().trim().min(1).max(100).default('sub') },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;
export type Config = { [K in SettingName]: z.output<(typeof SETTINGS)[K]['schema']> };

export type Flags = Partial<Record<string, string | boolean | undefined>>;
export type Env = Record<string, string | undefined>;

function readSecretFile(path: string, envName: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`${envName}=${path} cannot be read (${reason})`);
  }
}

/** Resolves one setting from its sources; returns the raw value and a label of where it came from. */
function resolve(setting: Setting, flags: Flags, env: Env): { raw: unknown; from: string } {
  const flagValue = flags[setting.flag];
  if (flagValue !== undefined) return { raw: flagValue, from: `--${setting.flag}` };
  const envValue = env[setting.env];
  if (envValue !== undefined && envValue !== '') return { raw: envValue, from: setting.env };
  if (setting.fileEnv) {
    const file = env[setting.fileEnv];
    if (file) return { raw: readSecretFile(file, setting.fileEnv), from: `${setting.fileEnv} (${file})` };
  }
  return { raw: undefined, from: 'default' };
}

/**
 * Builds the configuration for the given subset of settings (commands ask only for what they
 * use, so `sage version` never fails on a bad DATABASE_URL).
 */
export function loadConfig<K extends SettingName>(names: readonly K[], flags: Flags = {}, env: Env = process.env): Pick<Config, K> {
  const out: Partial<Config> = {};
  for (const name of names) {
    const setting: Setting = SETTINGS[name];
    const { raw, from } = resolve(setting, flags, env);
    const parsed = setting.schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const shown = setting.fileEnv || /secret|password/i.test(setting.env) ? '' : ` (got ${JSON.stringify(raw)})`;
      throw new ConfigError(`${from}: ${issue?.message ?? 'invalid value'}${shown}`);
    }
    (out as Record<string, unknown>)[name] = parsed.data;
  }
  return out as Pick<Config, K>;
}

/** The database URL is optional in the schema (so that `--help` works) but required to do anything. */
export function requireDatabaseUrl(url: string | undefined): string {
  if (!url) {
    throw new ConfigError('DATABASE_URL is not set: pass --database-url, or set DATABASE_URL or DATABASE_URL_FILE (postgres://user@host:port/db)');
  }
  return url;
}

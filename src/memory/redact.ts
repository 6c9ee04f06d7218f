/**
 * Secret redaction, applied to every text before it is stored (MemoryService.save/update) —
 * captured transcripts are full of pasted `.env` files, curl commands and connection strings,
 * and a memory store must not become the place where they leak from.
 *
 * The default patterns target things that are secrets by their shape (provider key formats,
 * PEM blocks, JWTs, credentials in URLs, Authorization headers) or by an explicit name next
 * to a literal value (`API_KEY=…`, `"password": "…"`). They deliberately do not guess from
 * entropy alone, and a secret-sounding name followed by code (`password_field = form.get(…)`)
 * is left alone: over-redacting code would make the memory useless.
 *
 * Every pattern is linear-time (no nested quantifiers over the same characters), so a
 * 200 000-character text is scanned in milliseconds. Extra patterns come from
 * SAGE_REDACT_PATTERNS / SAGE_REDACT_PATTERNS_FILE (see parsePatternList).
 */
import { ConfigError } from '../errors.ts';

export const REDACTED = '[REDACTED]';

interface Rule {
  name: string;
  pattern: RegExp;
  /** Builds the replacement from the match groups; the default replaces the whole match. */
  replace?: (match: string, ...groups: string[]) => string;
}

/**
 * Names that mark the value next to them as a secret, as the last word of an identifier
 * (`db_password`, `clientSecret`, `GITHUB_TOKEN`) — never a prefix (`tokenizer`, `max_tokens`,
 * `password_field` are not secrets). Case-insensitive where used.
 */
const SECRET_NAME =
  '(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|session[_-]?key|signing[_-]?key|encryption[_-]?key|auth[_-]?token)';
/** The `.env` form: upper-case names; PWD only as a suffix (`DB_PWD`, not the shell's PWD). */
const ENV_SECRET_NAME =
  '[A-Z0-9_]*(?:PASSWORD|PASSWD|PASSPHRASE|_PWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SECRET_?KEY|SESSION_?KEY|SIGNING_?KEY|ENCRYPTION_?KEY|CREDENTIALS|DSN)(?:_(?:[0-9]+|BASE|VALUE|B64|BASE64|HEX|RAW))?';
/** Characters of a token in a header or after "Bearer". */
const TOKEN_CHARS = '[A-Za-z0-9._~+/=-]';

const DEFAULT_RULES: readonly Rule[] = [
  {
    // PEM / OpenSSH / PGP private key blocks, whole (an unterminated block is cut to the end).
    name: 'private_key',
    pattern: /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END \1PRIVATE KEY(?: BLOCK)?-----|$)/g,
    replace: () => '[REDACTED PRIVATE KEY]',
  },
  {
    // Credentials in URLs: scheme://user:password@host — keep the user, drop the password.
    name: 'url_password',
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"`]*):([^\s@/'"`]+)@/gi,
    replace: (_m, prefix: string) => `${prefix}:${REDACTED}@`,
  },
  {
    // Authorization headers with a scheme: keep the scheme, drop the credentials.
    name: 'authorization_header',
    pattern: new RegExp(`\\b((?:proxy-)?authorization["']?\\s*[:=]\\s*["']?(?:bearer|basic|token|digest|apikey|api-key)\\s+)(${TOKEN_CHARS}{8,})`, 'gi'),
    replace: (_m, prefix: string) => `${prefix}${REDACTED}`,
  },
  {
    // Authorization header with a bare credential (no scheme): only when it is long.
    name: 'authorization_header',
    pattern: new RegExp(`\\b((?:proxy-)?authorization["']?\\s*[:=]\\s*["']?)(${TOKEN_CHARS}{20,})`, 'gi'),
    replace: (_m, prefix: string) => `${prefix}${REDACTED}`,
  },
  {
    // HTTP headers carrying keys: X-Api-Key, X-Auth-Token, Private-Token (hyphenated names only,
    // so a TypeScript `token: SomeType` annotation is not taken for a header).
    name: 'key_header',
    pattern: new RegExp(`\\b((?:x-[A-Za-z0-9-]*|[A-Za-z0-9]+-)(?:api-?key|token|secret|access-?key)["']?\\s*:\\s*)(${TOKEN_CHARS}{12,})`, 'gi'),
    replace: (_m, prefix: string) => `${prefix}${REDACTED}`,
  },
  {
    name: 'bearer_token',
    pattern: /\b(bearer\s+)([A-Za-z0-9._~+/-]{16,}=*)/gi,
    replace: (_m, prefix: string) => `${prefix}${REDACTED}`,
  },
  // Provider key formats: secrets by their shape alone.
  { name: 'anthropic_key', pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/g },
  { name: 'openai_key', pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g },
  { name: 'github_token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g },
  { name: 'gitlab_token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}/g },
  { name: 'slack_token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  { name: 'slack_webhook', pattern: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]+/g },
  { name: 'aws_access_key_id', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[0-9A-Z]{16}\b/g },
  { name: 'google_api_key', pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  { name: 'stripe_key', pattern: /\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}/g },
  { name: 'npm_token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { name: 'huggingface_token', pattern: /\bhf_[A-Za-z0-9]{30,}\b/g },
  {
    // JSON Web Tokens: three base64url parts, the first two JSON objects ("eyJ" = '{"').
    name: 'jwt',
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  },
  {
    // `.env` lines and shell exports: NAME=value where NAME says it is a secret. The name is an
    // environment-style identifier (upper case), which code variables rarely are; a value that
    // is a reference ($VAR, ${VAR}) is left alone.
    name: 'env_assignment',
    pattern: new RegExp(`^([ \\t]*(?:export[ \\t]+)?${ENV_SECRET_NAME}[ \\t]*=[ \\t]*)(["']?)(?![$[{(])([^\\s"'#][^\\r\\n"']*?)\\2[ \\t]*$`, 'gm'),
    replace: (_m, prefix: string, quote: string) => `${prefix}${quote}${REDACTED}${quote}`,
  },
  {
    // A secret-named key or variable given a quoted literal: "password": "…", api_key = '…',
    // token: "…". The literal must look like a credential (8+ characters, no spaces).
    name: 'secret_literal',
    pattern: new RegExp(`((?:^|[^A-Za-z0-9])[A-Za-z0-9_.-]*${SECRET_NAME}["']?[ \\t]*(?::=|=>|[:=])[ \\t]*)(["'\`])([^\\s"'\`]{8,})\\2`, 'gi'),
    replace: (_m, prefix: string, quote: string) => `${prefix}${quote}${REDACTED}${quote}`,
  },
  {
    // Unquoted YAML style at the start of a line: `password: hunter2secret`. Not a type name
    // (`token: SecretStr`), not a dotted path (`apiKey: config.apiKey`), no trailing , or ;
    // (those are code, not configuration).
    name: 'secret_yaml',
    pattern: new RegExp(
      `^([ \\t]*-?[ \\t]*[A-Za-z0-9_.-]*${SECRET_NAME}[ \\t]*:[ \\t]+)(?![\\[{|>&*!$"'])(?![A-Z][A-Za-z0-9_]*[ \\t]*$)(?![A-Za-z_$][\\w$]*(?:\\.[A-Za-z_$][\\w$]*)+[ \\t]*$)([^\\s#,;()]{8,})[ \\t]*$`,
      'gim',
    ),
    replace: (_m, prefix: string) => `${prefix}${REDACTED}`,
  },
  {
    // Command-line flags: --password hunter2secret, --token=abc…
    name: 'secret_flag',
    pattern: new RegExp(`(--[A-Za-z0-9-]*${SECRET_NAME}(?:[ =]))(["']?)([^\\s"'$-][^\\s"']{5,})\\2`, 'gi'),
    replace: (_m, prefix: string, quote: string) => `${prefix}${quote}${REDACTED}${quote}`,
  },
];

export interface RedactionResult {
  text: string;
  /** How many secrets were replaced, by rule name. Empty when nothing was found. */
  found: Record<string, number>;
}

/**
 * A compiled set of rules. Immutable and stateless between calls (every pattern is global and
 * used through String.replace, which resets lastIndex), so one instance can serve all requests.
 */
export class Redactor {
  readonly #rules: readonly Rule[];

  constructor(extraPatterns: readonly string[] = []) {
    const extra = extraPatterns.map((source, i) => ({ name: `custom_${i + 1}`, pattern: compileCustom(source) }));
    this.#rules = [...DEFAULT_RULES, ...extra];
  }

  redact(text: string): RedactionResult {
    const found: Record<string, number> = {};
    let out = text;
    for (const rule of this.#rules) {
      out = out.replace(rule.pattern, (...args: unknown[]) => {
        const match = args[0] as string;
        // String.replace passes (match, ...groups, offset, input[, namedGroups]): the groups
        // are everything before the numeric offset.
        const offsetAt = args.findIndex((a, i) => i > 0 && typeof a === 'number');
        const groups = args.slice(1, offsetAt).map((g) => (typeof g === 'string' ? g : ''));
        const replacement = rule.replace ? rule.replace(match, ...groups) : REDACTED;
        // Already redacted by an earlier rule (API_KEY=sk-… is both a key and a .env line).
        if (replacement !== match) found[rule.name] = (found[rule.name] ?? 0) + 1;
        return replacement;
      });
    }
    return { text: out, found };
  }

  /** Redacts every string inside a JSON-like value (metadata), keys included. */
  redactValue(value: unknown, found: Record<string, number> = {}): unknown {
    if (typeof value === 'string') {
      const r = this.redact(value);
      for (const [k, n] of Object.entries(r.found)) found[k] = (found[k] ?? 0) + n;
      return r.text;
    }
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v, found));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.redactValue(v, found);
      return out;
    }
    return value;
  }
}

function compileCustom(source: string): RegExp {
  // "/body/flags" or a bare body; always global so every occurrence is replaced.
  const literal = /^\/(.+)\/([a-z]*)$/s.exec(source);
  const body = literal ? literal[1]! : source;
  const flags = new Set((literal?.[2] ?? '').split('').filter(Boolean));
  flags.add('g');
  try {
    const re = new RegExp(body, [...flags].join(''));
    if (re.test('')) throw new ConfigError(`redaction pattern ${JSON.stringify(source)} matches the empty string`);
    return re;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`redaction pattern ${JSON.stringify(source)} is not a valid regular expression: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Parses SAGE_REDACT_PATTERNS (or the content of SAGE_REDACT_PATTERNS_FILE): either a JSON
 * array of strings, or one pattern per line (blank lines and lines starting with # ignored).
 * A pattern is a JavaScript regular expression body, or /body/flags.
 */
export function parsePatternList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const text = value.trim();
  if (text === '') return [];
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ConfigError('redaction patterns start with "[" but are not a JSON array of strings');
    }
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new ConfigError('redaction patterns must be a JSON array of strings');
    return parsed.filter((p) => p.trim() !== '');
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Validates patterns eagerly, so a bad one is a configuration error at start-up. */
export function createRedactor(patterns: readonly string[] = []): Redactor {
  return new Redactor(patterns);
}

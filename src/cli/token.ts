/**
 * `sage token`: mints a JWT for `sage serve` with the configured key and prints only the token
 * (so `TOKEN=$(sage token …)` works). HS256 with SAGE_JWT_SECRET_FILE, or EdDSA/ES256 with
 * SAGE_JWT_PRIVATE_KEY_FILE (a JWK's kid goes into the header); iss and aud are set when
 * configured, exactly as the server will check them.
 */
import { loadConfig, type Flags } from '../config.ts';
import { isUsableName } from '../auth/tenant.ts';
import { InputError } from '../errors.ts';
import type { Command } from './command.ts';

const HELP = `  --sub NAME                Subject (and tenant, unless SAGE_TENANT_CLAIM names another claim)
  --scope LIST              Scopes, comma-separated: memory:read, memory:write, memory:admin
                            (default memory:read,memory:write)
  --ttl DURATION            Lifetime: 30d, 12h, 15m, 3600s (default 30d, at most 366d)
  --tenant NAME             Value of the tenant claim when SAGE_TENANT_CLAIM is not "sub"
  --jwt-secret-file PATH    HS256 secret (env SAGE_JWT_SECRET_FILE)
  --jwt-private-key-file P  Ed25519 or P-256 private key, PEM or JWK (env SAGE_JWT_PRIVATE_KEY_FILE)
  --jwt-issuer ISS          "iss" claim (env SAGE_JWT_ISSUER)
  --jwt-audience AUD        "aud" claim (env SAGE_JWT_AUDIENCE)
  --jwt-algorithms LIST     Checked against the key (env SAGE_JWT_ALGORITHMS)
  --tenant-claim NAME       Claim naming the tenant (env SAGE_TENANT_CLAIM, default "sub")`;

function checkName(flag: string, value: string): string {
  if (!isUsableName(value)) {
    throw new InputError(`${flag} must be 1 to 200 characters, without surrounding spaces or control characters`);
  }
  return value;
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Mint a JWT for `sage serve` (prints only the token)',
  usage: 'sage token --sub NAME [--scope memory:read,memory:write] [--ttl 30d]',
  details: HELP,
  options: {
    sub: { type: 'string' },
    scope: { type: 'string' },
    ttl: { type: 'string' },
    tenant: { type: 'string' },
    'jwt-secret-file': { type: 'string' },
    'jwt-private-key-file': { type: 'string' },
    'jwt-issuer': { type: 'string' },
    'jwt-audience': { type: 'string' },
    'jwt-algorithms': { type: 'string' },
    'tenant-claim': { type: 'string' },
  },
  async run(flags: Flags) {
    const config = loadConfig(['jwtSecretFile', 'jwtPrivateKeyFile', 'jwtIssuer', 'jwtAudience', 'jwtAlgorithms', 'tenantClaim'], flags);
    if (typeof flags.sub !== 'string') throw new InputError('--sub is required (the subject, e.g. a user name)');
    const subject = checkName('--sub', flags.sub);
    const [{ loadSigningKey }, { mintToken, parseTtl }, { parseScopeList }] = await Promise.all([
      import('../auth/keys.ts'),
      import('../auth/jwt.ts'),
      import('../auth/tenant.ts'),
    ]);
    const scopes = parseScopeList(typeof flags.scope === 'string' ? flags.scope : 'memory:read,memory:write');
    const ttlSeconds = parseTtl(typeof flags.ttl === 'string' ? flags.ttl : '30d');
    const claims: Record<string, string> = {};
    if (config.tenantClaim !== 'sub') {
      if (typeof flags.tenant !== 'string') throw new InputError(`--tenant is required: SAGE_TENANT_CLAIM is "${config.tenantClaim}", so the token must carry it`);
      claims[config.tenantClaim] = checkName('--tenant', flags.tenant);
    } else if (flags.tenant !== undefined) {
      throw new InputError('--tenant applies only when SAGE_TENANT_CLAIM names a claim other than "sub"; the tenant is --sub');
    }
    const signing = loadSigningKey(config);
    const token = await mintToken(signing, { subject, scopes, ttlSeconds, issuer: config.jwtIssuer, audience: config.jwtAudience, claims });
    process.stdout.write(`${token}\n`);
    return 0;
  },
};

/**
 * `sage serve`: MCP over Streamable HTTP at /mcp for teams and remote clients, every request
 * authenticated by a JWT (see src/auth). It refuses to start without a key: there is no way to
 * turn authentication off. SIGTERM and SIGINT stop it gracefully (it may run as PID 1 in a
 * container): stop accepting, finish in-flight requests, close the database pool, exit 0.
 *
 * node:http and jose are loaded inside run(): the binary's start-up snapshot cannot hold them.
 */
import { loadConfig, type Flags } from '../config.ts';
import { log } from '../log.ts';
import { limitMallocArenas } from './malloc-arenas.ts';
import { DATABASE_OPTIONS, HOOK_SOCKET_OPTIONS, hookSocketPath, openRuntime, serveHookSocket, type Command, type Options } from './command.ts';

export const JWT_OPTIONS: Options = {
  'jwt-secret-file': { type: 'string' },
  'jwt-public-key-file': { type: 'string' },
  'jwks-file': { type: 'string' },
  'jwt-issuer': { type: 'string' },
  'jwt-audience': { type: 'string' },
  'jwt-algorithms': { type: 'string' },
  'tenant-claim': { type: 'string' },
};

const { tenant: _tenant, ...DATABASE_OPTIONS_NO_TENANT } = DATABASE_OPTIONS;

const HELP = `  --database-url URL        PostgreSQL URL (env DATABASE_URL or DATABASE_URL_FILE)
  --project NAME            Default project for callers (env SAGE_PROJECT, default "default")
  --log-level LEVEL         debug | info | warn | error | silent (env SAGE_LOG_LEVEL)
  --host ADDRESS            Address to bind (env SAGE_HTTP_HOST, default 127.0.0.1)
  --port N                  Port (env SAGE_HTTP_PORT, default 8080)
  --public-url URL          URL clients use, when behind a proxy (env SAGE_HTTP_PUBLIC_URL)
  --allowed-hosts LIST      Host names accepted in Host (env SAGE_ALLOWED_HOSTS; default localhost names + bind address)
  --allowed-origins LIST    Browser origins accepted (env SAGE_ALLOWED_ORIGINS; default origins on allowed hosts)
  --body-limit BYTES        Largest request body (env SAGE_HTTP_BODY_LIMIT, default 1048576)
  --request-timeout-ms N    Time limit per request (env SAGE_HTTP_REQUEST_TIMEOUT_MS, default 30000)
  --jwt-secret-file PATH    HS256 secret, at least 32 bytes (env SAGE_JWT_SECRET_FILE)
  --jwt-public-key-file P   Ed25519 or P-256 public key, PEM (env SAGE_JWT_PUBLIC_KEY_FILE)
  --jwks-file PATH          JSON Web Key Set of public keys, by kid (env SAGE_JWKS_FILE)
  --jwt-issuer ISS          Required "iss" of tokens (env SAGE_JWT_ISSUER)
  --jwt-audience AUD        Required "aud" of tokens (env SAGE_JWT_AUDIENCE)
  --jwt-algorithms LIST     Accepted algorithms: HS256, EdDSA, ES256 (env SAGE_JWT_ALGORITHMS; default: the key's)
  --tenant-claim NAME       Claim naming the tenant (env SAGE_TENANT_CLAIM, default "sub")
  --hook-socket PATH        Where prompt hooks in this container or host reach this Sage, for the
                            tenant SAGE_TENANT (default "local"), or "off" (env SAGE_HOOK_SOCKET;
                            default /tmp/sage-UID/hook-HASH.sock)

The tenant of each request comes from its token; SAGE_TENANT does not apply.`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve MCP over Streamable HTTP at /mcp, with JWT authentication (for teams and remote clients)',
  usage: 'sage serve [options]',
  details: HELP,
  options: {
    ...DATABASE_OPTIONS_NO_TENANT,
    ...JWT_OPTIONS,
    ...HOOK_SOCKET_OPTIONS,
    host: { type: 'string' },
    port: { type: 'string' },
    'public-url': { type: 'string' },
    'allowed-hosts': { type: 'string' },
    'allowed-origins': { type: 'string' },
    'body-limit': { type: 'string' },
    'request-timeout-ms': { type: 'string' },
  },
  async run(flags: Flags) {
    limitMallocArenas(); // the single executable continues in a new image from here
    // Caught from the start: a stop that arrives while the server is still starting (an
    // orchestrator stopping it right after a start) is honoured once it listens. Without a
    // listener yet, SIGTERM ended the process on the spot, or, as PID 1 in a container, was
    // ignored until the SIGKILL. A second signal during the shutdown ends it at once.
    const stopSignal = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    const config = loadConfig(
      [
        'httpHost',
        'httpPort',
        'httpPublicUrl',
        'httpBodyLimit',
        'httpRequestTimeoutMs',
        'allowedHosts',
        'allowedOrigins',
        'jwtSecretFile',
        'jwtPublicKeyFile',
        'jwksFile',
        'jwtIssuer',
        'jwtAudience',
        'jwtAlgorithms',
        'tenantClaim',
      ],
      flags,
    );
    const [{ loadVerificationKeys }, { createVerifier }, { RevocationList }, { revocationsSince }, { startHttpServer }] = await Promise.all([
      import('../auth/keys.ts'),
      import('../auth/jwt.ts'),
      import('../auth/revocations.ts'),
      import('../store/revocations.ts'),
      import('../transport/http.ts'),
    ]);
    // Keys first: a misconfigured server must not open a port or a pool.
    const keys = loadVerificationKeys(config);
    const runtime = openRuntime(flags, 'sage-serve');
    const socketPath = hookSocketPath(flags, runtime);
    const verify = createVerifier({ keys, issuer: config.jwtIssuer, audience: config.jwtAudience, tenantClaim: config.tenantClaim });
    const http = await startHttpServer({
      host: config.httpHost,
      port: config.httpPort,
      service: runtime.service,
      db: runtime.db,
      project: runtime.project,
      verify,
      revocations: new RevocationList({ read: (since) => revocationsSince(runtime.db, since) }),
      bodyLimit: config.httpBodyLimit,
      requestTimeoutMs: config.httpRequestTimeoutMs,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      publicUrl: config.httpPublicUrl,
      issuer: config.jwtIssuer,
    }).catch(async (err: unknown) => {
      await runtime.db.close().catch(() => undefined);
      throw err;
    });
    log.info('tokens verified with', { keys: keys.description, algorithms: keys.algorithms, issuer: config.jwtIssuer ?? null, audience: config.jwtAudience ?? null, tenant_claim: config.tenantClaim });
    if (!config.jwtAudience) log.warn('SAGE_JWT_AUDIENCE is not set: any token signed with this key is accepted, whatever service it was minted for');
    // `docker exec -i sage /sage hook prompt` runs beside this server: it asks here first.
    const hookSocket = socketPath === null ? null : serveHookSocket(socketPath, runtime);
    runtime.db.ready().catch((err: unknown) => log.warn('database not ready yet; /readyz reports it and requests retry', { error: err }));

    const signal = await stopSignal;
    log.info('http server stopping', { signal, in_flight: http.inFlight() });
    await http.close().catch((err: unknown) => log.error('closing the http server failed', { error: err }));
    await hookSocket?.close().catch(() => undefined);
    await runtime.db.close().catch(() => undefined);
    log.info('http server stopped');
    return 0;
  },
};

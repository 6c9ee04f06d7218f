import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.ts';
import { REDACTED, Redactor, parsePatternList } from '../../src/memory/redact.ts';

// Fake credentials in the providers' formats (built from pieces so no scanner mistakes this
// file for a leak). None of them is real.
const OPENAI = 'sk-proj-' + 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_AbCdEfGh';
const ANTHROPIC = 'sk-ant-api03-' + 'x9Yz8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0Gf-AbCdEfGhIjKl_MnOpQrSt';
const GITHUB = 'ghp_' + '1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R';
const GITHUB_PAT = 'github_pat_' + '11ABCDEFG0abcdefghijkl_MNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuv';
const AWS_ID = 'AKIA' + 'IOSFODNN7EXAMPLE';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/' + 'bPxRfiCYEXAMPLEKEY';
const SLACK = 'xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9' + '.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ' + '.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

const redactor = new Redactor();
function clean(text: string): string {
  return redactor.redact(text).text;
}

test('a pasted .env file keeps its names and loses its secrets', () => {
  const env = [
    '# production settings',
    'NODE_ENV=production',
    'PORT=8080',
    `OPENAI_API_KEY=${OPENAI}`,
    `AWS_ACCESS_KEY_ID=${AWS_ID}`,
    `AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`,
    'DB_PASSWORD="correct horse battery staple"',
    "export STRIPE_SECRET_KEY='not-a-real-stripe-secret-1234'",
    'SESSION_SECRET=9f8e7d6c5b4a3f2e1d0c',
    'API_TOKEN_2=abcdef123456',
    'DATABASE_PASSWORD=${DB_PASSWORD}',
    'MAX_TOKENS=4096',
    'TOKENIZERS_PARALLELISM=false',
    'LOG_LEVEL=debug',
  ].join('\n');
  const { text, found } = redactor.redact(env);
  for (const secret of [OPENAI, AWS_ID, AWS_SECRET, 'correct horse battery staple', 'not-a-real-stripe-secret-1234', '9f8e7d6c5b4a3f2e1d0c', 'abcdef123456']) {
    assert.ok(!text.includes(secret), `leaked ${secret}`);
  }
  assert.match(text, /^OPENAI_API_KEY=\[REDACTED\]$/m);
  assert.match(text, /^DB_PASSWORD="\[REDACTED\]"$/m);
  assert.match(text, /^export STRIPE_SECRET_KEY='\[REDACTED\]'$/m);
  // Not secrets: kept as they were.
  for (const line of ['NODE_ENV=production', 'PORT=8080', 'DATABASE_PASSWORD=${DB_PASSWORD}', 'MAX_TOKENS=4096', 'TOKENIZERS_PARALLELISM=false', 'LOG_LEVEL=debug', '# production settings']) {
    assert.ok(text.split('\n').includes(line), `changed: ${line}`);
  }
  assert.ok((found.openai_key ?? 0) >= 1 && (found.env_assignment ?? 0) >= 4, JSON.stringify(found));
});

test('curl with Authorization and API-key headers', () => {
  const curl = `curl -sS https://api.example.com/v1/items \\
  -H "Authorization: Bearer ${JWT}" \\
  -H 'X-Api-Key: 0123456789abcdef0123' \\
  -H "Content-Type: application/json" -d '{"name":"x"}'`;
  const text = clean(curl);
  assert.ok(!text.includes(JWT) && !text.includes('0123456789abcdef0123'), text);
  assert.match(text, /Authorization: Bearer \[REDACTED\]/);
  assert.match(text, /X-Api-Key: \[REDACTED\]/);
  assert.match(text, /Content-Type: application\/json/);
  assert.match(text, /https:\/\/api\.example\.com\/v1\/items/);
  const basic = clean('Authorization: Basic dXNlcjpwYXNzd29yZA==');
  assert.equal(basic, `Authorization: Basic ${REDACTED}`);
});

test('passwords in URLs: the password goes, user and host stay', () => {
  const text = clean('export DATABASE_URL=postgres://sage:S3cr3t%21pw@db.internal:5432/sage?sslmode=require and redis://:hunter2@cache:6379/0');
  assert.ok(!text.includes('S3cr3t%21pw') && !text.includes('hunter2'), text);
  assert.match(text, /postgres:\/\/sage:\[REDACTED\]@db\.internal:5432\/sage/);
  assert.match(text, /redis:\/\/:\[REDACTED\]@cache:6379/);
  // A port is not a password.
  assert.equal(clean('open http://localhost:8080/path?a=b@c'), 'open http://localhost:8080/path?a=b@c');
});

test('PEM private key blocks are removed whole; public keys and certificates stay', () => {
  const pem = [
    'here is the key:',
    '-----BEGIN RSA PRIVATE KEY-----',
    'MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8eXfQ0Zl0wL5P3kJ2cK8VbGm0',
    'bQ2Jx1s7zYk4dF9nH3vW6pL8qR0tU2yE5oI7aS1dG4hJ6kL9zX2cV5bN8mQ1wE3r',
    '-----END RSA PRIVATE KEY-----',
    '-----BEGIN OPENSSH PRIVATE KEY-----',
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
    '-----END OPENSSH PRIVATE KEY-----',
    '-----BEGIN PUBLIC KEY-----',
    'MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=',
    '-----END PUBLIC KEY-----',
    'done',
  ].join('\n');
  const { text, found } = redactor.redact(pem);
  assert.ok(!text.includes('MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8eXfQ0Zl0wL5P3kJ2cK8VbGm0'));
  assert.ok(!text.includes('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ'));
  assert.equal(found.private_key, 2);
  assert.match(text, /BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=/);
  assert.match(text, /^here is the key:$/m);
  assert.match(text, /^done$/m);
  // A truncated paste (no END line) is still removed to the end.
  const cut = clean('key:\n-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF');
  assert.ok(!cut.includes('MC4CAQAwBQYDK2VwBCIEIJ'), cut);
});

test('provider keys in prose, JSON, code and logs', () => {
  const text = clean(
    [
      `use ${ANTHROPIC} for claude and ${OPENAI} for the other`,
      `git remote set-url origin https://${GITHUB}@github.com/acme/shop.git`,
      `token=${GITHUB_PAT}`,
      `{"slack": "${SLACK}", "jwt": "${JWT}"}`,
      `client = boto3.client("s3", aws_access_key_id="${AWS_ID}", aws_secret_access_key="${AWS_SECRET}")`,
      'const apiKey = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q";',
      'stripe.api_key = "sk_live_51HxYzAbCdEfGhIjKlMnOp"',
      'mysql -u root --password=Sup3rS3cret! shop',
    ].join('\n'),
  );
  for (const secret of [ANTHROPIC, OPENAI, GITHUB, GITHUB_PAT, SLACK, JWT, AWS_ID, AWS_SECRET, 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q', 'sk_live_51HxYzAbCdEfGhIjKlMnOp', 'Sup3rS3cret!']) {
    assert.ok(!text.includes(secret), `leaked ${secret} in\n${text}`);
  }
  assert.match(text, /^use \[REDACTED\] for claude and \[REDACTED\] for the other$/m);
  assert.match(text, /github\.com\/acme\/shop\.git/);
  assert.match(text, /boto3\.client\("s3"/);
});

test('YAML and JSON configuration', () => {
  const yaml = ['database:', '  host: db.internal', '  user: app', '  password: pr0d-Passw0rd-2024', '  pool_size: 10', 'api:', '  token: 7f3a9c2e1b8d4f6a'].join('\n');
  const text = clean(yaml);
  assert.ok(!text.includes('pr0d-Passw0rd-2024') && !text.includes('7f3a9c2e1b8d4f6a'), text);
  assert.match(text, /host: db\.internal/);
  assert.match(text, /pool_size: 10/);
  const json = clean('{"username": "admin", "password": "hunter2hunter2", "max_tokens": "4096", "tokenizer": "bert-base-uncased"}');
  assert.equal(json, '{"username": "admin", "password": "[REDACTED]", "max_tokens": "4096", "tokenizer": "bert-base-uncased"}');
});

test('normal code is not over-redacted', () => {
  const code = [
    "password_field = form.get('password')",
    'password = request.form["password"]',
    'if not check_password(user, password):',
    '    raise AuthError("wrong password")',
    'token = tokenizer.encode(text)',
    'const { token } = await login(user);',
    'export function getApiKey(config: Config): string {',
    '  return config.apiKey;',
    '}',
    'interface Options { token: SecretString; apiKey: string; }',
    '  token: SecretStr',
    '  apiKey: process.env.API_KEY,',
    'max_tokens: 4096',
    'secret_santa = pick(names)',
    'Authorization header is required for every request',
    'The bearer of this letter is trusted.',
    'password: str = Field(..., min_length=8)',
    'cmd = ["psql", "--password", password]',
    "fetch(url, { credentials: 'same-origin' })",
    'PASSWORD_HASHERS = [',
    "  'django.contrib.auth.hashers.PBKDF2PasswordHasher',",
    'See https://docs.example.com/auth/tokens for details.',
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE alice@laptop',
    'task-runner-configuration-for-deploy',
    'TOKEN_URL = "https://auth.example.com/oauth/token"',
    'SECRET_KEY = os.environ["SECRET_KEY"]',
  ].join('\n');
  const { text, found } = redactor.redact(code);
  assert.equal(text, code, `changed:\n${text}\nfound ${JSON.stringify(found)}`);
  assert.deepEqual(found, {});
});

test('redacting is idempotent and counts each secret once', () => {
  const once = redactor.redact(`OPENAI_API_KEY=${OPENAI}`);
  assert.equal(once.text, 'OPENAI_API_KEY=[REDACTED]');
  assert.equal(Object.values(once.found).reduce((a, b) => a + b, 0), 1);
  const twice = redactor.redact(once.text);
  assert.equal(twice.text, once.text);
  assert.deepEqual(twice.found, {});
});

test('values inside metadata objects are redacted, structure kept', () => {
  const found: Record<string, number> = {};
  const out = redactor.redactValue({ command: `curl -H "Authorization: Bearer ${JWT}"`, n: 3, list: [`x ${GITHUB}`], nested: { ok: true } }, found);
  assert.deepEqual(out, { command: 'curl -H "Authorization: Bearer [REDACTED]"', n: 3, list: ['x [REDACTED]'], nested: { ok: true } });
  assert.ok(Object.keys(found).length >= 2);
});

test('configured patterns: plain and /body/flags, JSON array or lines; bad ones are config errors', () => {
  assert.deepEqual(parsePatternList(undefined), []);
  assert.deepEqual(parsePatternList('  \n# comment\nACME-[0-9]{6}\n/internal-[a-z]+/i\n'), ['ACME-[0-9]{6}', '/internal-[a-z]+/i']);
  assert.deepEqual(parsePatternList('["ACME-[0-9]{6}"]'), ['ACME-[0-9]{6}']);
  const custom = new Redactor(parsePatternList('ACME-[0-9]{6}\n/internal-[a-z]+/i'));
  const r = custom.redact('ticket ACME-123456 on INTERNAL-Host, and ACME-1');
  assert.equal(r.text, 'ticket [REDACTED] on [REDACTED], and ACME-1');
  assert.deepEqual(r.found, { custom_1: 1, custom_2: 1 });
  assert.throws(() => new Redactor(['(unclosed']), ConfigError);
  assert.throws(() => new Redactor(['a*']), /empty string/);
  assert.throws(() => parsePatternList('[1, 2]'), ConfigError);
});

test('large texts are scanned in linear time', () => {
  const big = 'password = compute(x) // '.repeat(4000) + 'a'.repeat(100_000) + ' -----BEGIN PRIVATE KEY----- ' + 'x '.repeat(20_000);
  const started = performance.now();
  const r = redactor.redact(big);
  const ms = performance.now() - started;
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  assert.equal(r.found.private_key, 1);
});

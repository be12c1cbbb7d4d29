import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../server/log.ts';
import { authorizeSeeded, seedTenant, send } from './support/authorize.ts';
import { postgresUrl } from './support/backends.ts';
import { freshPostgresUrl } from './support/postgres.ts';
import { provisioningTenant, ScimClient, type ScimTenant } from './support/scim.ts';
import { CapturedLog, type LogLine, startService, type TestService } from './support/service.ts';

const LOUD = ['error', 'fatal'];

/** No line of these has a stack, and none is at error level: what an operator sees of a client's mistake. */
function expectQuiet(lines: LogLine[]) {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(LOUD, JSON.stringify(line)).not.toContain(line.level);
    expect(JSON.stringify(line), 'a stack in a client mistake').not.toContain('"stack"');
  }
}

describe("a client's mistakes in the log", () => {
  const log = new CapturedLog();
  let service: TestService;
  let tenant: ScimTenant & { code: string };
  beforeAll(async () => {
    service = await startService({ LOG_LEVEL: 'info' }, { log });
    const seeded = await seedTenant(service.store);
    const tokens = await authorizeSeeded(service, seeded);
    tenant = { seeded, tokens, scim: new ScimClient(service, tokens.access_token), code: tokens.code };
  });
  afterAll(async () => {
    await service?.stop();
  });

  it.each(['/Bulk', '/Me'])('501 for %s is logged at info, without a stack', async (path) => {
    const answer = await tenant.scim.request(path === '/Bulk' ? 'POST' : 'GET', path, path === '/Bulk' ? { Operations: [] } : undefined);
    expect(answer.status).toBe(501);
    const lines = log.of(answer.headers.get('x-request-id'));
    expectQuiet(lines);
    expect(lines.find((line) => line.msg === 'scim request refused')).toMatchObject({ level: 'info', status: 501 });
  });

  it('SCIM 4xx (an unknown user, a broken filter, a missing token) are logged at info, without a stack', async () => {
    const unknown = await tenant.scim.get('/Users/no-such-user');
    const broken = await tenant.scim.get(`/Users?filter=${encodeURIComponent('userName eq')}`);
    const anonymous = await fetch(new URL('/scim/v2/Users', service.url));
    expect([unknown.status, broken.status, anonymous.status]).toEqual([404, 400, 401]);
    for (const [answer, status] of [
      [unknown, 404],
      [broken, 400],
      [anonymous, 401],
    ] as const) {
      const lines = log.of(answer.headers.get('x-request-id'));
      expectQuiet(lines);
      expect(lines.find((line) => line.msg === 'scim request refused')).toMatchObject({ level: 'info', status });
    }
  });

  it('a refused page (a sign-in that does not exist, a form too large) is logged at info, without a stack', async () => {
    const missing = await send(`${service.url}/oauth/interaction/no-such-interaction`);
    expect(missing.status).toBeGreaterThanOrEqual(400);
    expect(missing.status).toBeLessThan(500);
    const large = await send(`${service.url}/oauth/interaction/no-such-interaction/login/acme.example`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `username=a&password=${'x'.repeat(40_000)}`,
    });
    expect(large.status).toBeGreaterThanOrEqual(400);
    expect(large.status).toBeLessThan(500);
    for (const answer of [missing, large]) {
      const lines = log.of(answer.headers.get('x-request-id'));
      expectQuiet(lines);
      expect(lines.find((line) => line.msg === 'request')).toMatchObject({ level: 'info', status: answer.status });
    }
    // The body parser's refusal reaches the error pages, which say what kind of refusal it was.
    expect(log.of(large.headers.get('x-request-id')).find((line) => line.msg === 'request refused')).toMatchObject({
      level: 'info',
      status: 413,
      error: 'entity.too.large',
    });
  });

  it('never writes the secrets that passed through it: client secret, tokens, the password, the code', async () => {
    const written = log.lines.map((line) => JSON.stringify(line)).join('\n');
    expect(log.lines.length).toBeGreaterThan(10);
    for (const secret of [
      tenant.seeded.client.clientSecret,
      tenant.seeded.manager.password,
      tenant.tokens.access_token,
      tenant.tokens.refresh_token,
      tenant.code,
    ]) {
      expect(secret.length).toBeGreaterThan(8);
      expect(written).not.toContain(secret);
    }
  });
});

describe.skipIf(!postgresUrl)('our own faults in the log (PostgreSQL)', () => {
  const log = new CapturedLog();
  let service: TestService;
  let database: Awaited<ReturnType<typeof freshPostgresUrl>>;
  let tenant: ScimTenant;
  beforeAll(async () => {
    database = await freshPostgresUrl();
    service = await startService({ LOG_LEVEL: 'info', DATABASE_URL: database.url }, { log });
    tenant = await provisioningTenant(service);
  });
  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  it('a query the database refuses is logged at error, with its SQLSTATE in err.code and the stack', async () => {
    // A table gone from under the running service: a fault of ours (a broken deployment), not the client's.
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await admin.query('ALTER TABLE groups RENAME TO groups_moved_away');
    } finally {
      await admin.end();
    }
    const answer = await tenant.scim.get('/Groups');
    expect(answer.status).toBe(500);
    const failed = log.of(answer.headers.get('x-request-id')).find((line) => line.level === 'error');
    expect(failed, JSON.stringify(log.of(answer.headers.get('x-request-id')))).toBeDefined();
    const err = failed?.err as { code?: string; stack?: string };
    expect(err.code).toBe('42P01');
    expect(err.stack).toContain('relation "groups" does not exist');
  });
});

describe('redaction', () => {
  function logged(fields: Record<string, unknown>): Record<string, any> {
    const out: string[] = [];
    createLogger('info', { write: (line: string) => out.push(line) }).error(fields, 'failed');
    return JSON.parse(out[0]);
  }

  it("blanks secrets by name wherever they sit, and keeps an error's code", () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
      password: 'Pg-password-1',
      command: { name: 'auth', args: ['Redis-password-1'] },
    });
    const line = logged({
      err,
      password: 'Password-1',
      form: { username: 'alice', password: 'Password-2', code: 'Code-1' },
      query: { code: 'Code-2', state: 'state-1' },
      params: { client_secret: 'Secret-1', refresh_token: 'Refresh-1', code: 'Code-3' },
      req: { headers: { authorization: 'Bearer Token-1', cookie: '_session=Cookie-1' } },
      res: { headers: { 'set-cookie': '_session=Cookie-2' } },
      grant: { token: 'Token-2', access_token: 'Token-3' },
      status: { code: 'kept' },
    });
    const text = JSON.stringify(line);
    for (const secret of ['Pg-password-1', 'Redis-password-1', 'Password-', 'Code-', 'Secret-1', 'Refresh-1', 'Token-', 'Cookie-']) {
      expect(text).not.toContain(secret);
    }
    expect(line.err.code).toBe('ECONNREFUSED');
    expect(line.err.message).toBe('connect ECONNREFUSED 127.0.0.1:5432');
    expect(line.err.command.name).toBe('auth');
    expect(line.form.username).toBe('alice');
    expect(line.query.state).toBe('state-1');
    expect(line.status.code).toBe('kept');
    expect(line.params.code).toBe('[redacted]');
  });

  it('keeps the SQLSTATE of a PostgreSQL error', () => {
    const err = Object.assign(new Error('duplicate key value violates unique constraint "users_pkey"'), {
      code: '23505',
      severity: 'ERROR',
    });
    expect(logged({ err }).err).toMatchObject({ code: '23505', severity: 'ERROR' });
  });
});

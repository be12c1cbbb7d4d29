// Text no store can keep — U+0000 (NUL) and unpaired UTF-16 surrogates —
// gets the same deliberate answer on every deployment: 400 naming the
// attribute or parameter, 404 for ids, "not found" for made-up tokens and
// client ids, exit 2 from the CLI, and never a 500 or an error in the log.
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { errors } from 'oidc-provider';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ENTRA_REDIRECT_URI } from '../server/directory/index.ts';
import { main } from '../server/ops/cli.ts';
import {
  Browser,
  clientPost,
  excerpt,
  exchangeCode,
  formIn,
  goToDomain,
  introspect,
  refresh,
  type SeededTenant,
  signIn,
  startAuthorize,
  submit,
  textOf,
} from './support/authorize.ts';
import { postgresUrl, redisUrl } from './support/backends.ts';
import { freshPostgresUrl } from './support/postgres.ts';
import { entraUser, provisioningTenant, type ScimClient, type ScimResponse } from './support/scim.ts';
import { startService, type TestService, tempDataDir } from './support/service.ts';
import { sessionBackends, suiteName } from './support/session-backends.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** Each bad character, and how the answers show it (escaped). */
const BAD = [
  { name: 'NUL', char: '\u0000', shown: '\\u0000' },
  { name: 'a lone surrogate', char: '\ud800', shown: '\\ud800' },
];

/** The service's log lines, parsed. */
class LogLines extends Writable {
  lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    for (const line of String(chunk).split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line));
    done();
  }
  atErrorLevel(): Record<string, unknown>[] {
    return this.lines.filter((line) => line.level === 'error' || line.level === 'fatal');
  }
}

interface Deployment {
  name: string;
  enabled: boolean;
  /** The environment of one fresh deployment, and how to remove its data again. */
  open(): Promise<{ env: Record<string, string>; drop(): Promise<void> }>;
}

const DEPLOYMENTS: Deployment[] = [
  {
    name: 'embedded SQLite',
    enabled: true,
    async open() {
      return { env: { DATA_DIR: tempDataDir('slc-bad-input-') }, drop: async () => {} };
    },
  },
  {
    name: 'PostgreSQL and Redis',
    enabled: Boolean(postgresUrl && redisUrl),
    async open() {
      const database = await freshPostgresUrl();
      return { env: { DATABASE_URL: database.url, REDIS_URL: redisUrl as string }, drop: () => database.drop() };
    },
  },
  {
    // Sessions and tokens in PostgreSQL's own table: the embedded session adapter on PostgreSQL.
    name: 'PostgreSQL with embedded sessions',
    enabled: Boolean(postgresUrl),
    async open() {
      const database = await freshPostgresUrl();
      return { env: { DATABASE_URL: database.url }, drop: () => database.drop() };
    },
  },
];

function expectRefusal(response: ScimResponse, status: number, scimType: string | undefined, context: string): void {
  expect(response.status, `${context}: ${response.text}`).toBe(status);
  expect(response.headers.get('content-type'), context).toMatch(/^application\/scim\+json/);
  expect(response.body, context).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status) });
  if (scimType) expect(response.body.scimType, context).toBe(scimType);
}

for (const deployment of DEPLOYMENTS) {
  describe.skipIf(!deployment.enabled)(`bad characters on ${deployment.name}`, () => {
    const log = new LogLines();
    let opened: Awaited<ReturnType<Deployment['open']>>;
    let service: TestService;
    let seeded: SeededTenant;
    let scim: ScimClient;
    let user: { id: string };
    let group: { id: string };

    beforeAll(async () => {
      opened = await deployment.open();
      service = await startService({ LOG_LEVEL: 'info', ...opened.env }, { log });
      const tenant = await provisioningTenant(service);
      seeded = tenant.seeded;
      scim = tenant.scim;
      user = (await scim.post('/Users', entraUser('kept@example.com'))).body;
      group = (await scim.post('/Groups', { displayName: 'Kept', members: [{ value: user.id }] })).body;
      expect(user.id).toBeTruthy();
      expect(group.id).toBeTruthy();
    }, 60_000);

    afterAll(async () => {
      await service?.stop();
      await opened?.drop();
    });

    afterEach(() => {
      expect(log.atErrorLevel()).toEqual([]);
    });

    describe('SCIM', () => {
      for (const bad of BAD) {
        const userCases: [string, Record<string, unknown>][] = [
          ['userName', { userName: `user${bad.char}@example.com` }],
          ['name.givenName', { name: { givenName: `Giv${bad.char}en`, familyName: 'Family' } }],
          ['emails[0].value', { emails: [{ type: 'work', primary: true, value: `mail${bad.char}@example.com` }] }],
          ['externalId', { externalId: `ext${bad.char}` }],
          [`${ENTERPRISE}:employeeNumber`, { [ENTERPRISE]: { employeeNumber: `7${bad.char}` } }],
          [`${ENTERPRISE}:manager.value`, { [ENTERPRISE]: { manager: { value: `boss${bad.char}` } } }],
          ['favouriteColour', { favouriteColour: `blue${bad.char}` }],
          ['urn:example:custom:2.0:User:shoeSize', { 'urn:example:custom:2.0:User': { shoeSize: `4${bad.char}2` } }],
          [`colour${bad.shown}`, { [`colour${bad.char}`]: 'blue' }],
        ];

        it(`a user with ${bad.name} in any attribute or key: POST and PUT answer 400 invalidValue naming it`, async () => {
          for (const [attribute, extra] of userCases) {
            const body = entraUser(`u${randomBytes(4).toString('hex')}@example.com`, extra);
            const created = await scim.post('/Users', body);
            expectRefusal(created, 400, 'invalidValue', `POST ${attribute}`);
            expect(created.body.detail).toContain(attribute);
            const replaced = await scim.put(`/Users/${user.id}`, body);
            expectRefusal(replaced, 400, 'invalidValue', `PUT ${attribute}`);
            expect(replaced.body.detail).toContain(attribute);
          }
          const kept = await scim.get(`/Users/${user.id}`);
          expect(kept.status).toBe(200);
          expect(kept.body.userName).toBe('kept@example.com');
        });

        it(`a user PATCH with ${bad.name}: 400 invalidValue naming the operation and the attribute`, async () => {
          const cases: [string, unknown[]][] = [
            ['Operations[0].value', [{ op: 'replace', path: 'displayName', value: `Dis${bad.char}play` }]],
            ['Operations[0].value.name.givenName', [{ op: 'replace', value: { 'name.givenName': `G${bad.char}` } }]],
            ['Operations[0].value', [{ op: 'add', path: 'emails[type eq "work"].value', value: `w${bad.char}@example.com` }]],
            [`Operations[0].value.${ENTERPRISE}:department`, [{ op: 'add', value: { [ENTERPRISE]: { department: `D${bad.char}` } } }]],
            ['Operations[0].value.nickName', [{ op: 'Replace', value: { nickName: `n${bad.char}` } }]],
            ['Operations[0].path', [{ op: 'replace', path: `nick${bad.char}Name`, value: 'n' }]],
            [
              'Operations[1].value',
              [
                { op: 'replace', path: 'displayName', value: 'Fine' },
                { op: 'replace', path: 'externalId', value: `e${bad.char}` },
              ],
            ],
          ];
          for (const [attribute, operations] of cases) {
            const response = await scim.patch(`/Users/${user.id}`, {
              schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
              Operations: operations,
            });
            expectRefusal(response, 400, 'invalidValue', `PATCH ${attribute}`);
            expect(response.body.detail).toContain(attribute);
          }
          const kept = await scim.get(`/Users/${user.id}`);
          expect(kept.body.displayName).toBeUndefined();
          expect(kept.body.meta.version).toBe('W/"1"');
        });

        it(`a group with ${bad.name} in its name, externalId or a member id: 400 invalidValue naming it`, async () => {
          const bodies: [string, Record<string, unknown>][] = [
            ['displayName', { displayName: `Group${bad.char}` }],
            ['externalId', { displayName: `G ${bad.name} ext`, externalId: `x${bad.char}` }],
            [
              'members[1].value',
              { displayName: `G ${bad.name} member`, members: [{ value: user.id }, { value: `${user.id}${bad.char}` }] },
            ],
            ['members[0].display', { displayName: `G ${bad.name} display`, members: [{ value: user.id, display: `K${bad.char}` }] }],
          ];
          for (const [attribute, body] of bodies) {
            const created = await scim.post('/Groups', body);
            expectRefusal(created, 400, 'invalidValue', `POST ${attribute}`);
            expect(created.body.detail).toContain(attribute);
            const replaced = await scim.put(`/Groups/${group.id}`, { displayName: 'Kept', ...body });
            expectRefusal(replaced, 400, 'invalidValue', `PUT ${attribute}`);
            expect(replaced.body.detail).toContain(attribute);
          }
          const patches: [string, unknown][] = [
            ['Operations[0].value[0].value', { op: 'add', path: 'members', value: [{ value: `m${bad.char}` }] }],
            ['Operations[0].value[0].value', { op: 'remove', path: 'members', value: [{ value: `m${bad.char}` }] }],
            ['Operations[0].path', { op: 'remove', path: `members[value eq "${user.id}${bad.char}"]` }],
            ['Operations[0].value.displayName', { op: 'replace', value: { displayName: `R${bad.char}` } }],
          ];
          for (const [attribute, operation] of patches) {
            const response = await scim.patch(`/Groups/${group.id}`, { Operations: [operation] });
            expectRefusal(response, 400, 'invalidValue', `PATCH ${JSON.stringify(operation)}`);
            expect(response.body.detail).toContain(attribute);
          }
          const kept = await scim.get(`/Groups/${group.id}`);
          expect(kept.body.displayName).toBe('Kept');
          expect(kept.body.members.map((m: { value: string }) => m.value)).toEqual([user.id]);
        });

        it(`a filter comparing with ${bad.name}: 400 invalidFilter, on GET and POST .search`, async () => {
          const filters = [
            `userName eq "x${bad.char}"`,
            `externalId sw "${bad.char}"`,
            `emails[type eq "work" and value co "${bad.char}"]`,
            `${ENTERPRISE}:employeeNumber eq "${bad.char}"`,
            `displayName eq "a" or name.givenName ew "${bad.char}"`,
          ];
          for (const filter of filters) {
            const searched = await scim.post('/Users/.search', {
              schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
              filter,
            });
            expectRefusal(searched, 400, 'invalidFilter', `.search ${filter}`);
          }
          const groups = await scim.post('/Groups/.search', { filter: `displayName eq "${bad.char}"` });
          expectRefusal(groups, 400, 'invalidFilter', 'Groups .search');
          // In a URL the characters come as JSON escapes inside the quoted value, or (NUL) percent-encoded.
          const escaped = `userName eq "x${bad.shown}"`;
          expectRefusal(await scim.get(`/Users?filter=${encodeURIComponent(escaped)}`), 400, 'invalidFilter', escaped);
          expectRefusal(
            await scim.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${bad.shown}"`)}`),
            400,
            'invalidFilter',
            'Groups',
          );
        });
      }

      it('a NUL sent percent-encoded in a filter: 400 invalidFilter', async () => {
        expectRefusal(await scim.get('/Users?filter=userName%20eq%20%22a%00b%22'), 400, 'invalidFilter', 'GET');
        expectRefusal(await scim.get('/Users?filter=externalId%20eq%20%00'), 400, 'invalidFilter', 'bare');
      });

      it('an id with NUL or a lone surrogate in the path: 404 on every method, Users and Groups', async () => {
        const ids = ['%00', `${user.id}%00`, '%ED%A0%80', `${group.id}%ED%A0%80`];
        for (const endpoint of ['Users', 'Groups']) {
          const body = endpoint === 'Users' ? entraUser('path@example.com') : { displayName: 'Path' };
          for (const id of ids) {
            const answers = [
              await scim.get(`/${endpoint}/${id}`),
              await scim.put(`/${endpoint}/${id}`, body),
              await scim.patch(`/${endpoint}/${id}`, { Operations: [{ op: 'replace', path: 'externalId', value: 'x' }] }),
              await scim.delete(`/${endpoint}/${id}`),
            ];
            for (const [i, answer] of answers.entries())
              expectRefusal(answer, 404, undefined, `${['GET', 'PUT', 'PATCH', 'DELETE'][i]} /${endpoint}/${id}`);
          }
        }
        expect((await scim.get(`/Users/${user.id}`)).status).toBe(200);
        expect((await scim.get(`/Groups/${group.id}`)).status).toBe(200);
      });

      it('an invalid UTF-8 byte in a body is read as U+FFFD, which is kept and reads back', async () => {
        const json = JSON.stringify(entraUser('raw-byte@example.com', { displayName: 'Raw BYTE here' }));
        const bytes = Buffer.from(json, 'utf8');
        const at = bytes.indexOf('BYTE');
        bytes[at] = 0xff;
        const response = await fetch(new URL('/scim/v2/Users', service.url), {
          method: 'POST',
          headers: { authorization: `Bearer ${scim.token}`, 'content-type': 'application/scim+json' },
          body: bytes,
        });
        expect(response.status, await response.clone().text()).toBe(201);
        const created = (await response.json()) as { id: string };
        expect((await scim.get(`/Users/${created.id}`)).body.displayName).toBe('Raw \ufffdYTE here');
      });
    });

    describe('Authorize, sign-in and token endpoint', () => {
      const authorizeQuery = (overrides: Record<string, string>) =>
        new URLSearchParams({
          client_id: seeded.client.clientId,
          redirect_uri: ENTRA_REDIRECT_URI,
          response_type: 'code',
          state: 'fine-state',
          ...overrides,
        });

      it('an authorize request with NUL in a parameter: a 400 page naming it, in the browser’s language', async () => {
        for (const parameter of ['client_id', 'redirect_uri', 'state', 'login_hint', 'domain_hint', 'scope']) {
          const query = authorizeQuery({ [parameter]: `bad\u0000value` });
          const page = await new Browser(service.url).get(`/oauth/authorize?${query}`);
          expect(page.status, `${parameter}: ${excerpt(page.text)}`).toBe(400);
          expect(page.location).toBeUndefined();
          expect(excerpt(page.text)).toContain(`whose ${parameter} parameter contains a character SecureLogin cannot accept`);
          const dutch = await new Browser(service.url, { headers: { 'accept-language': 'nl' } }).get(`/oauth/authorize?${query}`);
          expect(dutch.status).toBe(400);
          expect(excerpt(dutch.text)).toContain(`waarvan de parameter ${parameter} een teken bevat`);
        }
      });

      it('a resume or interaction URL with NUL: the expired page, not a 500', async () => {
        const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
        const uid = new URL(page.url).pathname.split('/').pop();
        for (const path of [
          '/oauth/authorize/%00',
          `/oauth/authorize/${uid}%00`,
          '/oauth/interaction/%00',
          `/oauth/interaction/${uid}%00/consent`,
        ]) {
          const answer = await browser.get(path);
          expect(answer.status, `${path}: ${excerpt(answer.text)}`).toBe(400);
        }
      });

      it('the Go to domain form and the login URL with NUL: the domain page again, 400, the text shown escaped', async () => {
        const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
        const answer = await submit(browser, page, 'domain-form', { domain: `${seeded.domain}\u0000` });
        expect(answer.status, excerpt(answer.text)).toBe(400);
        // The backslash of the escape reaches the page as an entity.
        expect(textOf(answer.text, 'domain-error')?.replace(/&#92;/g, '\\')).toContain(`${seeded.domain}\\u0000`);
        expect(answer.text).not.toContain('\u0000');
        const login = await browser.get(`${new URL(page.url).pathname}/login/${encodeURIComponent(`${seeded.domain}\u0000`)}`);
        expect(login.status, excerpt(login.text)).toBe(400);
        expect(login.text).not.toContain('\u0000');
      });

      it('a sign-in with NUL in the username or password: 400 in English and Dutch, never counted against the account', async () => {
        const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
        const login = await goToDomain(browser, page, seeded.domain);
        expect(login.status).toBe(200);
        // More attempts than any account limit allows: none of them may count.
        for (let i = 0; i < 12; i++) {
          const answer = await submit(browser, login, 'login-form', {
            username: i % 2 === 0 ? `${seeded.manager.username}\u0000` : seeded.manager.username,
            password: i % 2 === 0 ? 'anything' : `${seeded.manager.password}\u0000`,
          });
          expect(answer.status, excerpt(answer.text)).toBe(400);
          expect(textOf(answer.text, 'login-error')).toBe(
            'The username or password contains a character that cannot be used (U+0000, or half of a character). Check what you typed or pasted.',
          );
          expect(answer.text).not.toContain('\u0000');
        }
        const form = formIn(login.text, 'login-form');
        const dutch = await browser.post(
          form.action,
          { ...form.fields, username: seeded.manager.username, password: '\u0000' },
          { 'accept-language': 'nl' },
        );
        expect(dutch.status).toBe(400);
        expect(textOf(dutch.text, 'login-error')).toContain(
          'De gebruikersnaam of het wachtwoord bevat een teken dat niet gebruikt kan worden',
        );
        const consent = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
        expect(consent.status, excerpt(consent.text)).toBe(200);
        expect(textOf(consent.text, 'page-title')).toBe('Allow access');
      });

      it('the token endpoint with NUL in the client id, the code or the refresh token: the usual OAuth errors', async () => {
        const client = seeded.client;
        const posted = await refresh(service, { ...client, clientId: `${client.clientId}\u0000`, auth: 'post', refreshToken: 'x' });
        expect(posted.status, JSON.stringify(posted.body)).toBe(401);
        expect(posted.body.error).toBe('invalid_client');
        // In the Authorization header the provider itself refuses the encoding first.
        const basic = await refresh(service, { ...client, clientId: `${client.clientId}\u0000`, auth: 'basic', refreshToken: 'x' });
        expect(basic.status, JSON.stringify(basic.body)).toBe(400);
        expect(basic.body.error).toBe('invalid_request');
        const refreshed = await refresh(service, { ...client, refreshToken: `${'a'.repeat(20)}\u0000${'b'.repeat(20)}` });
        expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(400);
        expect(refreshed.body.error).toBe('invalid_grant');
        const exchanged = await exchangeCode(service, { ...client, code: `${'c'.repeat(20)}\u0000${'d'.repeat(20)}` });
        expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(400);
        expect(exchanged.body.error).toBe('invalid_grant');
        const inspected = await introspect(service, { ...client, token: `${'e'.repeat(20)}\u0000` });
        expect(inspected.status).toBe(200);
        expect(inspected.body.active).toBe(false);
        const revoked = await clientPost(service, '/oauth/revoke', { token: `${'f'.repeat(20)}\u0000` }, client);
        expect(revoked.status).toBe(200);
      });
    });

    describe('the securelogin command', () => {
      const run = async (argv: string[]) => {
        let stdout = '';
        let stderr = '';
        const sink = (write: (text: string) => void) =>
          new Writable({
            write(chunk, _encoding, done) {
              write(String(chunk));
              done();
            },
          });
        const code = await main(
          argv,
          { stdin: Readable.from([]), stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)) },
          { ...opened.env, PUBLIC_URL: 'https://connect.example.test', LOG_LEVEL: 'silent' },
        );
        return { code, stdout, stderr };
      };

      it('an argument or option value with NUL or a lone surrogate: exit 2, one line naming it, nothing stored', async () => {
        for (const bad of BAD) {
          const domain = `bad-${randomBytes(3).toString('hex')}.example`;
          const cases: [string, string[]][] = [
            ['<domain>', ['tenant', 'add', `x${bad.char}.example`, '--name', 'X']],
            ['--name', ['tenant', 'add', domain, '--name', `X${bad.char}`]],
            ['<username>', ['manager', 'add', seeded.domain, `u${bad.char}@example.com`, '--password-stdin']],
            ['<another-domain>', ['domain', 'add', seeded.domain, `y${bad.char}.example`]],
            ['--redirect-uri', ['client', 'add', seeded.domain, '--redirect-uri', `https://a.example/${bad.char}`]],
            ['<client_id>', ['client', 'rotate-secret', `${seeded.client.clientId}${bad.char}`]],
          ];
          for (const [name, argv] of cases) {
            const outcome = await run(argv);
            expect(outcome.code, `${argv.join(' ')}: ${outcome.stderr}`).toBe(2);
            expect(outcome.stderr).toBe(
              `securelogin: ${name} contains U+0000 (NUL) or an unpaired UTF-16 surrogate, which cannot be stored\n`,
            );
            expect(outcome.stdout).toBe('');
          }
          expect((await run(['tenant', 'show', domain])).code).toBe(1);
        }
      });
    });
  });
}

// The adapters themselves, beneath the provider: an id no store can keep is
// simply not there, and an artifact holding such text is refused alike on
// every session store.
for (const backend of sessionBackends.filter(
  (b) => b.name === 'embedded SQLite' || b.name === 'embedded PostgreSQL' || b.name === 'Redis single server',
)) {
  describe.skipIf(backend.unavailable !== undefined)(`session adapter and bad characters on ${suiteName(backend)}`, () => {
    let running: Awaited<ReturnType<typeof backend.start>>;
    let instance: Awaited<ReturnType<typeof running.open>>;

    beforeAll(async () => {
      running = await backend.start();
      instance = await running.open();
    }, 60_000);
    afterAll(async () => {
      await running?.stop();
    });

    it('finds nothing under an id with NUL or a lone surrogate, and consuming or destroying it is harmless', async () => {
      for (const bad of BAD) {
        const id = `token${bad.char}id`;
        for (const model of ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'Session', 'Interaction', 'Grant']) {
          const adapter = new instance.sessions.Adapter(model);
          await expect(adapter.find(id)).resolves.toBeUndefined();
          await expect(adapter.destroy(id)).resolves.toBeUndefined();
          await expect(adapter.revokeByGrantId(id)).resolves.toBeUndefined();
          if (adapter.findByUid) await expect(adapter.findByUid(id)).resolves.toBeUndefined();
        }
        await expect(new instance.sessions.Adapter('RefreshToken').consume(id)).resolves.toBeUndefined();
        await expect(new instance.sessions.Adapter('AuthorizationCode').consume(id)).rejects.toBeInstanceOf(errors.InvalidGrant);
      }
    });

    it('refuses to keep an artifact holding such text, naming the parameter', async () => {
      for (const bad of BAD) {
        const adapter = new instance.sessions.Adapter('Interaction');
        const payload = { iat: 1, exp: 2, kind: 'Interaction', params: { client_id: 'c', state: `s${bad.char}` } };
        const attempt = adapter.upsert(`interaction-${randomBytes(4).toString('hex')}`, payload as never, 600);
        await expect(attempt).rejects.toBeInstanceOf(errors.InvalidRequest);
        await expect(attempt).rejects.toMatchObject({ error_description: expect.stringContaining('state') });
      }
    });
  });
}

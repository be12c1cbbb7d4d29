import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../server/config.ts';
import { findClient, findUserForSignIn, getTenant, secretMatchesAny, verifyPassword } from '../server/directory/index.ts';
import { ADDRESS_THROTTLE, DEVICE_THROTTLE, STRANGER_THROTTLE } from '../server/interaction/index.ts';
import { createLogger } from '../server/log.ts';
import { addressCounter, deviceCounter, openSessions, strangersCounter } from '../server/sessions/index.ts';
import { openStore, type Store } from '../server/store/index.ts';
import { redisUrl } from './support/backends.ts';
import { type Outcome, securelogin, secureloginInProcess } from './support/cli.ts';
import { provisionedUserRow } from './support/rows.ts';
import { tempDataDir } from './support/service.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const PUBLIC_URL = 'https://connect.example.test';
const PASSWORD = 'correct horse battery staple';

/** A refusal: the given exit status, nothing on stdout, exactly one line on stderr. */
function expectRefusal(outcome: Outcome, code: number, line: RegExp | string) {
  expect(outcome.code, outcome.stderr).toBe(code);
  expect(outcome.stdout).toBe('');
  expect(outcome.stderr.endsWith('\n')).toBe(true);
  expect(outcome.stderr.trimEnd().split('\n')).toHaveLength(1);
  if (typeof line === 'string') expect(outcome.stderr).toContain(line);
  else expect(outcome.stderr).toMatch(line);
}

function json(outcome: Outcome): any {
  expect(outcome.code, outcome.stderr).toBe(0);
  return JSON.parse(outcome.stdout);
}

async function withStore<T>(dataDir: string, use: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir, databaseUrl: undefined });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

const COMMANDS = [
  'tenant add',
  'tenant list',
  'tenant show',
  'tenant disable',
  'tenant enable',
  'tenant remove',
  'domain add',
  'domain remove',
  'manager add',
  'manager passwd',
  'manager disable',
  'manager enable',
  'manager unlock',
  'client add',
  'client list',
  'client rotate-secret',
  'client remove',
  'unblock',
  'migrate',
];

describe('securelogin --help', () => {
  const dataDir = tempDataDir();

  it('lists every command, and each group and command explains itself', async () => {
    // The real command once, as an operator types it; every other help through the same entry point in this process.
    const top = await securelogin(dataDir, ['--help']);
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(`  ${command}`);
    expect(top.stdout).toContain('--json');
    expect(await secureloginInProcess(['--help'], { DATA_DIR: dataDir })).toEqual(top);

    for (const group of ['tenant', 'domain', 'manager', 'client']) {
      const help = await secureloginInProcess([group, '--help'], { DATA_DIR: dataDir });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: securelogin ${group} <command>`);
    }

    const helps: Outcome[] = [];
    for (const command of COMMANDS) helps.push(await secureloginInProcess([...command.split(' '), '--help'], { DATA_DIR: dataDir }));
    for (const [i, command] of COMMANDS.entries()) {
      expect(helps[i].code, command).toBe(0);
      expect(helps[i].stdout, command).toContain(`Usage: securelogin ${command}`);
      expect(helps[i].stdout, command).toContain('--json');
    }
    expect(helps[COMMANDS.indexOf('tenant add')].stdout).toContain('--name <display name>');
    expect(helps[COMMANDS.indexOf('client add')].stdout).toMatch(/--redirect-uri <url>.*repeatable/);
    expect(helps[COMMANDS.indexOf('manager add')].stdout).toContain('--password-stdin');
    // Each command's example is that command, ready to copy.
    expect(helps[COMMANDS.indexOf('manager add')].stdout).toContain('npx securelogin manager add <domain> <username> --password-stdin');
    expect(helps[COMMANDS.indexOf('manager passwd')].stdout).toContain('npx securelogin manager passwd <domain> <username>');
    expect(helps[COMMANDS.indexOf('tenant remove')].stdout).toContain('--yes');
    // --help answers without touching the data folder.
    expect(fs.readdirSync(dataDir)).toEqual([]);
    // About thirty CLI processes start here: a busy machine needs more than the default limit.
  }, 180_000);
});

describe('securelogin, from the first tenant to its removal', () => {
  const dataDir = tempDataDir();
  const run = (args: string[], options?: { input?: string }) => securelogin(dataDir, args, options);

  it('registers a tenant and refuses its domain a second time, in any spelling', async () => {
    const added = await run(['tenant', 'add', 'acme.example', '--name', 'Acme']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toBe('');
    expect(added.stdout).toContain('Added tenant Acme with the domain acme.example.');
    expect(added.stdout).toContain('npx securelogin manager add acme.example <username>');

    expectRefusal(
      await run(['tenant', 'add', 'ACME.example', '--name', 'Acme again']),
      1,
      'securelogin: the domain acme.example is already registered',
    );

    const globex = json(await run(['tenant', 'add', 'HTTPS://Globex.Example:8443/login', '--name', 'Globex', '--json']));
    expect(globex).toEqual({
      id: expect.any(String),
      name: 'Globex',
      disabled: false,
      domains: ['globex.example'],
      created_at: expect.any(String),
    });
  });

  it('adds and removes domains, refusing a taken domain and a last one', async () => {
    const updated = json(await run(['domain', 'add', 'acme.example', 'Acme.Test', '--json']));
    expect(updated.domains).toEqual(['acme.example', 'acme.test']);
    expectRefusal(await run(['domain', 'add', 'globex.example', 'acme.test']), 1, 'the domain acme.test is already registered');
    const removed = await run(['domain', 'remove', 'acme.test']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('Removed the domain acme.test from tenant Acme');
    expectRefusal(await run(['domain', 'remove', 'acme.example']), 1, "acme.example is its tenant's only domain");
  });

  it('adds a manager with the password from stdin, stored as an Argon2id hash', async () => {
    const added = json(await run(['manager', 'add', 'acme.example', 'alice', '--password-stdin', '--json'], { input: PASSWORD }));
    expect(added).toEqual({
      tenant: 'acme.example',
      id: expect.any(String),
      user_name: 'alice',
      role: 'manager',
      active: true,
      created: true,
    });
    await withStore(dataDir, async (store) => {
      const tenant = await getTenant(store.db, 'acme.example');
      const row = await findUserForSignIn(store.db, tenant.id, 'alice');
      expect(row?.password_hash).toMatch(/^\$argon2id\$/);
      expect(await verifyPassword(row?.password_hash, PASSWORD)).toBe(true);
    });
    expectRefusal(
      await run(['manager', 'add', 'acme.example', 'ALICE', '--password-stdin'], { input: PASSWORD }),
      1,
      'alice is already a manager of tenant acme.example',
    );
  });

  it('changes a password from the first line of stdin only', async () => {
    const changed = await run(['manager', 'passwd', 'acme.example', 'Alice', '--password-stdin'], {
      input: 'a brand new passphrase\nsecond line is not part of it\n',
    });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toBe('Set a new password for manager alice of tenant acme.example.\n');
    await withStore(dataDir, async (store) => {
      const tenant = await getTenant(store.db, 'acme.example');
      const row = await findUserForSignIn(store.db, tenant.id, 'alice');
      expect(await verifyPassword(row?.password_hash, 'a brand new passphrase')).toBe(true);
      expect(await verifyPassword(row?.password_hash, PASSWORD)).toBe(false);
    });
  });

  it('disables and enables a manager', async () => {
    expect(json(await run(['manager', 'disable', 'acme.example', 'alice', '--json'])).active).toBe(false);
    expect(json(await run(['tenant', 'show', 'acme.example', '--json'])).managers).toEqual([
      { id: expect.any(String), user_name: 'alice', active: false },
    ]);
    const enabled = await run(['manager', 'enable', 'acme.example', 'alice']);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(enabled.stdout).toContain('Enabled manager alice of tenant acme.example');
  });

  it('says so when asked to enable a manager who was never disabled, and changes nothing', async () => {
    const before = json(await run(['tenant', 'show', 'acme.example', '--json'])).managers;
    const again = await run(['manager', 'enable', 'acme.example', 'alice']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('Manager alice of tenant acme.example was not disabled: nothing changed.\n');
    expect(json(await run(['manager', 'enable', 'acme.example', 'alice', '--json']))).toMatchObject({ active: true, changed: false });
    expect(json(await run(['tenant', 'show', 'acme.example', '--json'])).managers).toEqual(before);
  });

  let clientId: string;
  let clientSecret: string;

  it('adds a client and prints its secret once, with what to paste where in Entra', async () => {
    const text = await run(['client', 'add', 'acme.example']);
    expect(text.code, text.stderr).toBe(0);
    const id = /Client ID +(\S+)/.exec(text.stdout)![1];
    const secret = /Client Secret +(\S+)/.exec(text.stdout)![1];
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(text.stdout.split(secret)).toHaveLength(2);
    for (const line of [
      `Authorization URL  ${PUBLIC_URL}/oauth/authorize`,
      `Token URL          ${PUBLIC_URL}/oauth/token`,
      `Tenant URL         ${PUBLIC_URL}/scim/v2`,
      'Admin Credentials',
      'Test Connection',
    ]) {
      expect(text.stdout).toContain(line);
    }

    const added = json(await run(['client', 'add', 'acme.example', '--name', 'Entra production', '--json']));
    expect(added).toEqual({
      client_id: expect.any(String),
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      name: 'Entra production',
      tenant: 'acme.example',
      redirect_uris: ['https://portal.azure.com/TokenAuthorize'],
      created_at: expect.any(String),
      secret_rotated_at: expect.any(String),
      secrets: [{ id: expect.any(String), created_at: expect.any(String), expires_at: null }],
      authorization_url: `${PUBLIC_URL}/oauth/authorize`,
      token_url: `${PUBLIC_URL}/oauth/token`,
      tenant_url: `${PUBLIC_URL}/scim/v2`,
    });
    clientId = added.client_id;
    clientSecret = added.client_secret;

    await withStore(dataDir, async (store) => {
      const stored = await findClient(store.db, clientId);
      expect(stored?.secretHashes).toEqual([createHash('sha256').update(clientSecret).digest('hex')]);
      expect(secretMatchesAny(stored!.secretHashes, clientSecret)).toBe(true);
      expect(secretMatchesAny((await findClient(store.db, id))!.secretHashes, secret)).toBe(true);
    });
    // Not in the database, its journal or anywhere else in the data folder.
    for (const file of fs.readdirSync(dataDir)) {
      const bytes = fs.readFileSync(path.join(dataDir, file));
      expect(bytes.includes(clientSecret), file).toBe(false);
      expect(bytes.includes(secret), file).toBe(false);
    }
  });

  it('adds a client for any tenant with its own redirect URIs', async () => {
    const shared = json(
      await run([
        'client',
        'add',
        '--any-tenant',
        '--name',
        'Shared',
        '--redirect-uri',
        'https://portal.azure.com/TokenAuthorize',
        '--redirect-uri',
        'http://localhost:8080/callback',
        '--json',
      ]),
    );
    expect(shared).toMatchObject({
      tenant: null,
      name: 'Shared',
      redirect_uris: ['https://portal.azure.com/TokenAuthorize', 'http://localhost:8080/callback'],
    });
  });

  it('lists clients without their secrets', async () => {
    const listed = await run(['client', 'list', '--json']);
    const clients = json(listed);
    expect(clients).toHaveLength(3);
    expect(clients.map((c: any) => c.tenant)).toEqual(['acme.example', 'acme.example', null]);
    for (const client of clients)
      expect(Object.keys(client).sort()).toEqual([
        'client_id',
        'created_at',
        'name',
        'redirect_uris',
        'secret_rotated_at',
        'secrets',
        'tenant',
      ]);
    expect(listed.stdout).not.toContain(clientSecret);
    expect(json(await run(['client', 'list', 'acme.example', '--json']))).toHaveLength(2);
  });

  it('rotates a secret with --keep-old 0: the old one stops matching', async () => {
    const rotated = json(await run(['client', 'rotate-secret', clientId, '--keep-old', '0', '--json']));
    expect(rotated).toMatchObject({
      client_id: clientId,
      tenant: 'acme.example',
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(rotated.client_secret).not.toBe(clientSecret);
    await withStore(dataDir, async (store) => {
      const stored = await findClient(store.db, clientId);
      expect(secretMatchesAny(stored!.secretHashes, rotated.client_secret)).toBe(true);
      expect(secretMatchesAny(stored!.secretHashes, clientSecret)).toBe(false);
    });
  });

  it('shows a tenant with its domains, user count, managers and clients', async () => {
    const shown = json(await run(['tenant', 'show', 'ACME.EXAMPLE', '--json']));
    expect(shown).toMatchObject({ name: 'Acme', disabled: false, domains: ['acme.example'], users: 1 });
    expect(shown.managers).toEqual([{ id: expect.any(String), user_name: 'alice', active: true }]);
    expect(shown.clients.map((c: any) => c.client_id)).toContain(clientId);
    expect(shown.clients).toHaveLength(2);
    const text = await run(['tenant', 'show', 'acme.example']);
    expect(text.stdout).toMatch(/Users +1/);
    expect(text.stdout).toMatch(/alice +active/);
    expect(text.stdout).toContain(clientId);
  });

  it('removes a client, and refuses to remove it twice', async () => {
    const removed = await run(['client', 'remove', clientId]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`(${clientId})`);
    expectRefusal(await run(['client', 'remove', clientId]), 1, `securelogin: no client with id ${clientId}`);
    expectRefusal(await run(['client', 'rotate-secret', clientId]), 1, `no client with id ${clientId}`);
  });

  it('lists tenants, disables and enables one, and removes one with everything it had', async () => {
    const listed = json(await run(['tenant', 'list', '--json']));
    expect(listed.map((t: any) => [t.name, t.domains])).toEqual([
      ['Acme', ['acme.example']],
      ['Globex', ['globex.example']],
    ]);
    expect(json(await run(['tenant', 'disable', 'globex.example', '--json'])).disabled).toBe(true);
    expect((await run(['tenant', 'list'])).stdout).toMatch(/globex\.example +Globex +disabled/);
    expect(json(await run(['tenant', 'enable', 'globex.example', '--json'])).disabled).toBe(false);

    // Without a terminal to confirm on, only --yes removes it.
    expectRefusal(
      await run(['tenant', 'remove', 'acme.example']),
      2,
      'securelogin: tenant remove cannot be undone and there is no terminal to confirm on: add --yes to remove acme.example',
    );
    expect(json(await run(['tenant', 'show', 'acme.example', '--json'])).name).toBe('Acme');
    const removed = json(await run(['tenant', 'remove', 'acme.example', '--yes', '--json']));
    expect(removed).toMatchObject({ name: 'Acme', domains: ['acme.example'], users: 1, clients: 1 });
    expectRefusal(await run(['tenant', 'show', 'acme.example']), 1, 'securelogin: no tenant has the domain acme.example');
    expect(json(await run(['client', 'list', '--json'])).map((c: any) => c.name)).toEqual(['Shared']);
  });

  it('reports migrations as applied already', async () => {
    expect(json(await run(['migrate', '--json']))).toEqual({ store: path.join(dataDir, 'securelogin.db'), applied: [] });
  });
});

describe('securelogin migrate', () => {
  it('creates the schema in an empty data folder and says which migrations it applied', async () => {
    const dataDir = tempDataDir();
    const migrated = json(await securelogin(dataDir, ['migrate', '--json']));
    expect(migrated.applied[0]).toBe('0001_directory');
    expect(migrated.applied.length).toBeGreaterThanOrEqual(2);
    expect(fs.existsSync(path.join(dataDir, 'securelogin.db'))).toBe(true);
  });
});

describe('securelogin refuses, with one line and a non-zero exit', () => {
  const dataDir = tempDataDir();
  beforeAll(async () => {
    json(await securelogin(dataDir, ['tenant', 'add', 'acme.example', '--name', 'Acme', '--json']));
    json(await securelogin(dataDir, ['manager', 'add', 'acme.example', 'alice', '--password-stdin', '--json'], { input: PASSWORD }));
  });

  // Independent of each other, so they run side by side.
  it.concurrent.each<[string, string[], number, RegExp | string, string?]>([
    ['an unknown domain', ['tenant', 'show', 'nope.example'], 1, 'securelogin: no tenant has the domain nope.example'],
    ['an unknown domain for a manager', ['manager', 'disable', 'nope.example', 'alice'], 1, 'no tenant has the domain nope.example'],
    ['an invalid domain', ['tenant', 'add', 'not a domain', '--name', 'X'], 1, '"not a domain" is not a valid domain'],
    [
      'a tenant without a name',
      ['tenant', 'add', 'new.example'],
      2,
      'securelogin: missing --name: usage: securelogin tenant add <domain> --name <display name> [options]',
    ],
    ['a tenant with an empty name', ['tenant', 'add', 'new.example', '--name', ''], 1, 'the tenant name must not be empty'],
    ['a missing argument', ['tenant', 'show'], 2, 'missing <domain>: usage: securelogin tenant show <domain>'],
    ['a missing username', ['manager', 'unlock', 'acme.example'], 2, 'missing <username>'],
    ['an option without its value', ['tenant', 'add', 'new.example', '--name'], 2, 'option --name needs a value'],
    ['an unknown option', ['tenant', 'list', '--verbose'], 2, 'unknown option --verbose'],
    ['an extra argument', ['tenant', 'list', 'extra'], 2, 'unexpected argument "extra"'],
    ['an unknown command', ['tenant', 'frobnicate'], 2, 'unknown command "tenant frobnicate"; choose one of add|list|'],
    ['an unknown group', ['frobnicate'], 2, 'unknown command "frobnicate"; see securelogin --help'],
    ['a mistyped command', ['tenant', 'lst'], 2, 'unknown command "tenant lst"; did you mean `tenant list`?'],
    ['a mistyped group', ['tenants', 'list'], 2, 'unknown command "tenants"; did you mean `tenant list`?'],
    ['a group alone, mistyped', ['mangaer'], 2, 'unknown command "mangaer"; did you mean `manager`?'],
    ['a command cut short', ['client', 'rotate'], 2, 'did you mean `client rotate-secret`?'],
    ['no command at all', [], 2, 'missing command'],
    ['a group without a command', ['client'], 2, 'missing command: securelogin client <add|list|rotate-secret|remove>'],
    ['an unknown client', ['client', 'rotate-secret', 'no-such-client'], 1, 'no client with id no-such-client'],
    [
      'a redirect URI without https',
      ['client', 'add', 'acme.example', '--redirect-uri', 'http://evil.example/cb'],
      1,
      'redirect URI "http://evil.example/cb" refused',
    ],
    ['a client without a tenant', ['client', 'add'], 2, 'missing <domain> (or --any-tenant'],
    ['a client with a tenant and --any-tenant', ['client', 'add', 'acme.example', '--any-tenant'], 2, 'either a <domain> or --any-tenant'],
    [
      'an unknown user',
      ['manager', 'passwd', 'acme.example', 'ghost', '--password-stdin'],
      1,
      'no user ghost in tenant acme.example',
      PASSWORD,
    ],
    ['an empty password', ['manager', 'add', 'acme.example', 'bob', '--password-stdin'], 1, 'password refused: it is empty', ''],
    [
      'an empty first line',
      ['manager', 'add', 'acme.example', 'bob', '--password-stdin'],
      1,
      'password refused: it is empty',
      '\nsecond line',
    ],
    [
      'a short password',
      ['manager', 'add', 'acme.example', 'bob', '--password-stdin'],
      1,
      'password refused: it must be at least 12 characters',
      'short\n',
    ],
    [
      'a common password',
      ['manager', 'passwd', 'acme.example', 'alice', '--password-stdin'],
      1,
      'password refused: it is a commonly used password',
      'password1234',
    ],
    [
      'no password source',
      ['manager', 'add', 'acme.example', 'bob'],
      2,
      'no terminal to prompt for the password: pipe it in and add --password-stdin',
    ],
  ])('%s', async (_, args, code, line, input) => {
    expectRefusal(await securelogin(dataDir, args, { input }), code, line);
  });

  it('never takes a password from the command line, and never echoes one given there', async () => {
    const attempts = [
      ['manager', 'add', 'acme.example', 'bob', '--password=Sup3r-secret-value'],
      ['manager', 'add', 'acme.example', 'bob', '--password', 'Sup3r-secret-value'],
      ['manager', 'passwd', 'acme.example', 'alice', '-p', 'Sup3r-secret-value'],
      ['manager', 'add', 'acme.example', 'bob', 'Sup3r-secret-value'],
      ['manager', 'passwd', 'acme.example', 'alice', 'Sup3r-secret-value', '--password-stdin'],
    ];
    const outcomes = await Promise.all(attempts.map((args) => securelogin(dataDir, args, { input: PASSWORD })));
    for (const outcome of outcomes) {
      expectRefusal(outcome, 2, /password is never taken/);
      expect(outcome.stderr).not.toContain('Sup3r-secret-value');
    }
    await withStore(dataDir, async (store) => {
      const tenant = await getTenant(store.db, 'acme.example');
      expect(await findUserForSignIn(store.db, tenant.id, 'bob')).toBeUndefined();
      const alice = await findUserForSignIn(store.db, tenant.id, 'alice');
      expect(await verifyPassword(alice?.password_hash, PASSWORD)).toBe(true);
    });
  });

  it('refuses a bad configuration variable by name, like the server', async () => {
    expectRefusal(
      await securelogin(dataDir, ['tenant', 'list'], { env: { PORT: 'abc' } }),
      2,
      'securelogin: configuration error: PORT: must be a whole number',
    );
    expectRefusal(
      await securelogin(dataDir, ['tenant', 'list'], { env: { DATABASE_URL: 'mysql://db.example/x' } }),
      2,
      'configuration error: DATABASE_URL',
    );
  });

  it('says which store it could not open, without its password', async () => {
    const outcome = await securelogin(dataDir, ['tenant', 'list'], {
      env: { DATABASE_URL: 'postgres://ops:Db-pass-123@127.0.0.1:1/directory' },
    });
    expectRefusal(outcome, 1, /^securelogin: could not open the directory store at postgres:\/\/ops@127\.0\.0\.1:1\/directory: /);
    expect(outcome.stderr).not.toContain('Db-pass-123');
  });

  it('refuses the manager commands for a user who is not a manager', async () => {
    await withStore(dataDir, async (store) => {
      const tenant = await getTenant(store.db, 'acme.example');
      await store.db
        .insertInto('users')
        .values(provisionedUserRow(tenant.id, 'carol', 'provisioned-user-1'))
        .execute();
    });
    expectRefusal(
      await securelogin(dataDir, ['manager', 'disable', 'acme.example', 'carol']),
      1,
      'carol is a user of tenant acme.example but not a manager',
    );
    expectRefusal(
      await securelogin(dataDir, ['manager', 'passwd', 'acme.example', 'carol', '--password-stdin'], { input: PASSWORD }),
      1,
      'not a manager',
    );
  });
});

const unlockBackends = [
  { name: 'the embedded store', env: {} as Record<string, string> },
  ...(redisUrl ? [{ name: 'Redis', env: { REDIS_URL: redisUrl } }] : []),
];

describe.each(unlockBackends)('securelogin manager unlock and unblock, with counters in $name', ({ env }) => {
  it('clears every counter between the manager and signing in, says what it cleared, and leaves address blocks to --address', async () => {
    const dataDir = tempDataDir();
    json(await securelogin(dataDir, ['tenant', 'add', 'acme.example', '--name', 'Acme', '--json'], { env }));
    json(await securelogin(dataDir, ['manager', 'add', 'acme.example', 'Alice', '--password-stdin', '--json'], { env, input: PASSWORD }));

    const config = loadConfig({ DATA_DIR: dataDir, ...env });
    const store = await openStore(config);
    const sessions = await openSessions({ config, store, log: createLogger('silent') });
    const { throttle } = sessions;
    try {
      const tenant = await getTenant(store.db, 'acme.example');
      const strangers = strangersCounter(tenant.id, 'alice');
      const browser = deviceCounter(tenant.id, 'Alice', 'AAAAAAAAAAAAAAAAAAAAAA');
      const ip = `203.0.113.${Math.floor(Math.random() * 250)}`;
      const address = addressCounter(ip);
      for (let i = 0; i <= STRANGER_THROTTLE.free; i++) await throttle.attempt(strangers, STRANGER_THROTTLE);
      for (let i = 0; i < 2; i++) await throttle.attempt(browser, DEVICE_THROTTLE);
      for (let i = 0; i < ADDRESS_THROTTLE.limit; i++) await throttle.attempt(address, ADDRESS_THROTTLE);
      expect((await throttle.state(strangers)).paused).toBe(true);
      expect((await throttle.state(address)).paused).toBe(true);

      const unlocked = json(await securelogin(dataDir, ['manager', 'unlock', 'acme.example', 'ALICE', '--json'], { env }));
      expect(unlocked).toEqual({
        tenant: 'acme.example',
        user_name: 'Alice',
        was_locked: true,
        cleared: {
          account: { failures: STRANGER_THROTTLE.free + 1, paused_until: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
          browsers: [{ failures: 2, paused_until: null }],
        },
      });
      expect(await throttle.state(strangers)).toEqual({ paused: false, retryAfterSeconds: 0, failures: 0, pausedUntil: null });
      expect((await throttle.state(browser)).failures).toBe(0);
      expect((await throttle.state(address)).paused).toBe(true);

      for (let i = 0; i < 2; i++) await throttle.attempt(strangers, STRANGER_THROTTLE);
      const text = await securelogin(dataDir, ['manager', 'unlock', 'acme.example', 'alice', '--address', ip], { env });
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(
        new RegExp(
          `^Unlocked Alice of tenant acme\\.example; cleared: 2 failures on the account; ${ADDRESS_THROTTLE.limit} failures from ${ip.replace(/\./g, '\\.')}, a block until \\d\\d:\\d\\d:\\d\\d\\. They may sign in again now\\.`,
        ),
      );
      expect((await throttle.state(address)).failures).toBe(0);

      const again = await securelogin(dataDir, ['manager', 'unlock', 'acme.example', 'alice'], { env });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('Alice of tenant acme.example was not locked out: no failed attempts were counted.');
      expectRefusal(
        await securelogin(dataDir, ['manager', 'unlock', 'acme.example', 'ghost'], { env }),
        1,
        'no user ghost in tenant acme.example',
      );
      expectRefusal(
        await securelogin(dataDir, ['manager', 'unlock', 'acme.example', 'alice', '--address', 'nowhere'], { env }),
        2,
        'not an IP address',
      );
    } finally {
      await sessions.close();
      await store.close();
    }
  });

  it('unblock clears one client address (an IPv6 address with its /64), and says when there was nothing to clear', async () => {
    const dataDir = tempDataDir();
    const config = loadConfig({ DATA_DIR: dataDir, ...env });
    const store = await openStore(config);
    const sessions = await openSessions({ config, store, log: createLogger('silent') });
    const { throttle } = sessions;
    try {
      const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:7`;
      const address = addressCounter(`${prefix}::1`);
      for (let i = 0; i < ADDRESS_THROTTLE.limit; i++) await throttle.attempt(address, ADDRESS_THROTTLE);
      const other = addressCounter(`198.51.100.${Math.floor(Math.random() * 250)}`);
      await throttle.attempt(other, ADDRESS_THROTTLE);

      const cleared = json(await securelogin(dataDir, ['unblock', `${prefix}::ab`, '--json'], { env }));
      expect(cleared).toEqual({ address: `${prefix}::/64`, failures: ADDRESS_THROTTLE.limit, paused_until: expect.any(String) });
      expect(await throttle.state(address)).toMatchObject({ paused: false, failures: 0 });
      expect((await throttle.state(other)).failures).toBe(1);

      const nothing = await securelogin(dataDir, ['unblock', `${prefix}::1`], { env });
      expect(nothing.code, nothing.stderr).toBe(0);
      expect(nothing.stdout).toContain('was not blocked');
      expectRefusal(await securelogin(dataDir, ['unblock', '999.1.1.1'], { env }), 2, '"999.1.1.1" is not an IP address');
      expectRefusal(await securelogin(dataDir, ['unblock'], { env }), 2, 'missing <address>');
      await throttle.reset(other);
    } finally {
      await sessions.close();
      await store.close();
    }
  });
});

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the CLI on a real pseudo-terminal (util-linux `script`), typing each
 * answer only once its prompt is on the screen, as a person would.
 */
function onTerminal(dataDir: string, args: string[], answers: { after: string; type: string }[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const command = ['node', 'bin/securelogin.js', ...args].join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: {
        PATH: path.dirname(process.execPath) + path.delimiter + process.env.PATH,
        HOME: process.env.HOME,
        DATA_DIR: dataDir,
        PUBLIC_URL,
      },
    });
    let screen = '';
    let next = 0;
    let seenUpTo = 0;
    child.stdout.on('data', (chunk) => {
      screen += chunk;
      while (next < answers.length && screen.indexOf(answers[next].after, seenUpTo) !== -1) {
        seenUpTo = screen.indexOf(answers[next].after, seenUpTo) + answers[next].after.length;
        child.stdin.write(answers[next].type);
        next++;
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin.destroy();
      resolve({ code, stdout: screen, stderr: '' });
    });
  });
}

describe.skipIf(!hasScript())('securelogin on a terminal', () => {
  const dataDir = tempDataDir();
  beforeAll(async () => {
    json(await securelogin(dataDir, ['tenant', 'add', 'acme.example', '--name', 'Acme', '--json']));
  });

  async function storedHash(userName: string) {
    return withStore(dataDir, async (store) => {
      const tenant = await getTenant(store.db, 'acme.example');
      return (await findUserForSignIn(store.db, tenant.id, userName))?.password_hash;
    });
  }

  it('asks for the password twice without echoing it', async () => {
    const secret = 'Typed on a terminal 42';
    const outcome = await onTerminal(
      dataDir,
      ['manager', 'add', 'acme.example', 'dave'],
      [
        { after: 'New password for dave: ', type: `${secret}\r` },
        { after: 'Type it again: ', type: `${secret}\r` },
      ],
    );
    expect(outcome.code, outcome.stdout).toBe(0);
    expect(outcome.stdout).toContain('Added manager dave to tenant acme.example.');
    expect(outcome.stdout).not.toContain('Typed on');
    expect(await verifyPassword(await storedHash('dave'), secret)).toBe(true);
  });

  it('handles backspace while typing', async () => {
    const outcome = await onTerminal(
      dataDir,
      ['manager', 'passwd', 'acme.example', 'dave'],
      [
        { after: 'New password for dave: ', type: 'Another good onX\u007fe\r' },
        { after: 'Type it again: ', type: 'Another good one\r' },
      ],
    );
    expect(outcome.code, outcome.stdout).toBe(0);
    expect(await verifyPassword(await storedHash('dave'), 'Another good one')).toBe(true);
  });

  it('asks again after a mistyped confirmation', async () => {
    const outcome = await onTerminal(
      dataDir,
      ['manager', 'add', 'acme.example', 'frank'],
      [
        { after: 'New password for frank: ', type: 'Typed first with care\r' },
        { after: 'Type it again: ', type: 'Typed frist with care\r' },
        { after: 'do not match; type the new password again.', type: '' },
        { after: 'New password for frank: ', type: 'Typed again correctly\r' },
        { after: 'Type it again: ', type: 'Typed again correctly\r' },
      ],
    );
    expect(outcome.code, outcome.stdout).toBe(0);
    expect(outcome.stdout).toContain('Added manager frank to tenant acme.example.');
    expect(await verifyPassword(await storedHash('frank'), 'Typed again correctly')).toBe(true);
  });

  it('refuses after three mismatched confirmations and keeps the old password', async () => {
    const round = (n: number) => [
      { after: 'New password for dave: ', type: `First entry of it ${n}\r` },
      { after: 'Type it again: ', type: `Second entry of it ${n}\r` },
    ];
    const outcome = await onTerminal(dataDir, ['manager', 'passwd', 'acme.example', 'dave'], [...round(1), ...round(2), ...round(3)]);
    expect(outcome.code).toBe(1);
    expect(outcome.stdout.split('type the new password again')).toHaveLength(3);
    expect(outcome.stdout).toContain('securelogin: password refused: the two entries do not match');
    expect(await verifyPassword(await storedHash('dave'), 'Another good one')).toBe(true);
  });

  it('refuses a weak password before asking for it again', async () => {
    const outcome = await onTerminal(
      dataDir,
      ['manager', 'add', 'acme.example', 'erin'],
      [{ after: 'New password for erin: ', type: 'weak\r' }],
    );
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain('password refused: it must be at least 12 characters');
    expect(outcome.stdout).not.toContain('Type it again');
    expect(await storedHash('erin')).toBeUndefined();
  });

  it('removes a tenant only once its domain is typed', async () => {
    json(await securelogin(dataDir, ['tenant', 'add', 'initech.example', '--name', 'Initech', '--json']));
    const wrong = await onTerminal(
      dataDir,
      ['tenant', 'remove', 'initech.example'],
      [{ after: 'Type initech.example to confirm: ', type: 'initech.exampel\r' }],
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain('This removes tenant Initech (initech.example) with 0 user(s) and 0 client(s), for good.');
    expect(wrong.stdout).toContain('securelogin: not removed: the domain typed was not initech.example');
    expect(json(await securelogin(dataDir, ['tenant', 'show', 'initech.example', '--json'])).name).toBe('Initech');

    const typed = await onTerminal(
      dataDir,
      ['tenant', 'remove', 'initech.example'],
      [{ after: 'Type initech.example to confirm: ', type: 'initech.example\r' }],
    );
    expect(typed.code, typed.stdout).toBe(0);
    expect(typed.stdout).toContain('Removed tenant Initech (initech.example)');
    expect((await securelogin(dataDir, ['tenant', 'show', 'initech.example'])).code).toBe(1);
  });

  it('stops on Ctrl-C without changing anything', async () => {
    const outcome = await onTerminal(
      dataDir,
      ['manager', 'add', 'acme.example', 'erin'],
      [{ after: 'New password for erin: ', type: 'half typed\u0003' }],
    );
    expect(outcome.code).toBe(130);
    expect(outcome.stdout).toContain('securelogin: cancelled');
    expect(await storedHash('erin')).toBeUndefined();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRA_REDIRECT_URI } from '../server/directory/index.ts';
import { createLogger } from '../server/log.ts';
import { addressCounter, openSessions } from '../server/sessions/index.ts';
import {
  canonicalAddress,
  clientAddress,
  DEFAULT_TRUSTED_PROXIES,
  InvalidTrustedProxy,
  parseTrustedProxies,
} from '../server/web/proxies.ts';
import { excerpt, goToDomain, type SeededTenant, seedTenant, send, signIn, startAuthorize } from './support/authorize.ts';
import { CapturedLog, startService, type TestService } from './support/service.ts';

describe('TRUSTED_PROXIES', () => {
  const defaults = parseTrustedProxies(DEFAULT_TRUSTED_PROXIES);

  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.10.20', true],
    ['192.169.0.1', false],
    ['fd12:3456::1', true],
    ['fc00::1', true],
    ['fe80::1', false],
    ['2001:db8::1', false],
    ['203.0.113.7', false],
    ['::ffff:10.0.0.5', true],
    ['::FFFF:7F00:1', true],
    ['::ffff:203.0.113.7', false],
    ['not an address', false],
  ])('by default, %s is trusted: %s', (address, trusted) => {
    expect(defaults.trusts(address)).toBe(trusted);
  });

  it('reads single addresses and ranges of both families, with spaces and a trailing comma', () => {
    const proxies = parseTrustedProxies(' 203.0.113.7 , 198.51.100.0/24,2001:db8:1::/48, 2001:DB8::53, ::ffff:192.0.2.0/120,');
    expect(proxies.entries).toEqual(['203.0.113.7', '198.51.100.0/24', '2001:db8:1::/48', '2001:DB8::53', '::ffff:192.0.2.0/120']);
    for (const address of ['203.0.113.7', '198.51.100.200', '2001:db8:1:ffff::9', '2001:db8:0::53', '192.0.2.9', '::ffff:198.51.100.1']) {
      expect(proxies.trusts(address), address).toBe(true);
    }
    for (const address of ['203.0.113.8', '198.51.101.1', '2001:db8:2::1', '127.0.0.1', '::1', '10.0.0.1', undefined]) {
      expect(proxies.trusts(address), String(address)).toBe(false);
    }
  });

  it.each([
    ['10.0.0.1,proxy.internal', 'proxy.internal'],
    ['10.0.0.0/33', '10.0.0.0/33'],
    ['fc00::/129', 'fc00::/129'],
    ['10.0.0.0/', '10.0.0.0/'],
    ['/8', '/8'],
    ['10.0.0', '10.0.0'],
    ['10.0.0.256', '10.0.0.256'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['10.0.0.0/8/8', '10.0.0.0/8/8'],
    [' , ', ','],
  ])('refuses %j, naming the entry %j', (list, entry) => {
    let refused: unknown;
    try {
      parseTrustedProxies(list);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(InvalidTrustedProxy);
    expect((refused as InvalidTrustedProxy).entry).toBe(entry);
    expect((refused as Error).message).toContain(`"${entry}" is not an IP address or CIDR range`);
  });

  it('spells every address one way, so that one client is counted once', () => {
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalAddress('::FFFF:CB00:7107')).toBe('203.0.113.7');
    expect(canonicalAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalAddress(' 192.0.2.1 ')).toBe('192.0.2.1');
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalAddress('example.com')).toBeUndefined();
    expect(canonicalAddress('')).toBeUndefined();
  });
});

describe('the client address', () => {
  const proxies = parseTrustedProxies('10.0.0.0/8,fd00::/8');

  it('is the socket address when the socket is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientAddress(proxies, '203.0.113.7', '10.0.0.9')).toBe('203.0.113.7');
    expect(clientAddress(proxies, '203.0.113.7', '198.51.100.1, 10.0.0.9')).toBe('203.0.113.7');
    expect(clientAddress(proxies, '::ffff:203.0.113.7', '198.51.100.1')).toBe('203.0.113.7');
  });

  it('is the socket address when a trusted proxy sends no X-Forwarded-For', () => {
    expect(clientAddress(proxies, '10.0.0.2', undefined)).toBe('10.0.0.2');
    expect(clientAddress(proxies, '10.0.0.2', '')).toBe('10.0.0.2');
  });

  it('is the entry a trusted proxy appended, not what the client wrote to the left of it', () => {
    expect(clientAddress(proxies, '10.0.0.2', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientAddress(proxies, '10.0.0.2', '192.0.2.66, 198.51.100.1')).toBe('198.51.100.1');
    expect(clientAddress(proxies, '::ffff:10.0.0.2', '192.0.2.66,198.51.100.1')).toBe('198.51.100.1');
  });

  it('walks past every trusted proxy in a chain, from the right', () => {
    expect(clientAddress(proxies, '10.0.0.2', '192.0.2.66, 198.51.100.1, 10.1.1.1, fd00::5')).toBe('198.51.100.1');
    // Every hop trusted: the furthest one is the client (a machine inside the network).
    expect(clientAddress(proxies, '10.0.0.2', '10.3.3.3, 10.1.1.1')).toBe('10.3.3.3');
  });

  it('stops at an entry that is not an address, at the last hop a trusted proxy vouched for', () => {
    expect(clientAddress(proxies, '10.0.0.2', '198.51.100.1, nonsense, 10.1.1.1')).toBe('10.1.1.1');
    expect(clientAddress(proxies, '10.0.0.2', 'nonsense')).toBe('10.0.0.2');
    expect(clientAddress(proxies, '10.0.0.2', '198.51.100.1, ')).toBe('10.0.0.2');
  });

  it('reads entries some proxies write with a port', () => {
    expect(clientAddress(proxies, '10.0.0.2', '198.51.100.1:52114')).toBe('198.51.100.1');
    expect(clientAddress(proxies, '10.0.0.2', '[2001:DB8::7]:443')).toBe('2001:db8::7');
    expect(clientAddress(proxies, '10.0.0.2', '[fd00::9]:443, 10.1.1.1')).toBe('fd00::9');
  });
});

/** The address a failed sign-in was counted against, read from the service's own throttle. */
async function failuresOf(service: TestService, address: string): Promise<number> {
  const sessions = await openSessions({ config: service.config, store: service.store, log: createLogger('silent') });
  try {
    return (await sessions.throttle.state(addressCounter(address))).failures;
  } finally {
    await sessions.close();
  }
}

const PUBLIC_URL = 'https://login.proxies.test';
const FORGED = { 'x-forwarded-for': '198.51.100.23', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'login.proxies.test' };

function behindProxies(trustedProxies: string | undefined) {
  const log = new CapturedLog();
  let service: TestService;
  let seeded: SeededTenant;
  beforeAll(async () => {
    const env: Record<string, string> = { PUBLIC_URL, LOG_LEVEL: 'info' };
    if (trustedProxies) env.TRUSTED_PROXIES = trustedProxies;
    service = await startService(env, { log });
    seeded = await seedTenant(service.store);
  });
  afterAll(async () => {
    await service?.stop();
  });

  async function failedSignIn() {
    const started = await startAuthorize(service, { clientId: seeded.client.clientId, headers: FORGED, publicOrigin: PUBLIC_URL });
    const login = await goToDomain(started.browser, started.page, seeded.domain);
    expect(login.status, excerpt(login.text)).toBe(200);
    const wrong = await signIn(started.browser, login, seeded.manager.username, 'not the password');
    expect(wrong.status, excerpt(wrong.text)).toBe(400);
    return { started, wrong };
  }

  /** The cookies GET /oauth/authorize sets, asked with X-Forwarded-Proto: https. */
  async function authorizeCookies() {
    const query = new URLSearchParams({
      client_id: seeded.client.clientId,
      redirect_uri: ENTRA_REDIRECT_URI,
      response_type: 'code',
      state: 's',
    });
    const first = await send(`${service.url}/oauth/authorize?${query}`, { headers: FORGED });
    expect(first.status, excerpt(first.text)).toBe(303);
    return first.headers.getSetCookie();
  }

  return {
    log,
    service: () => service,
    failedSignIn,
    authorizeCookies,
  };
}

describe('a client that reaches the port directly, not through a trusted proxy', () => {
  // The test connects from 127.0.0.1, which this list leaves out.
  const setup = behindProxies('10.9.9.9');

  it('is counted and logged under its own address, whatever X-Forwarded-For it sends', async () => {
    const service = setup.service();
    const before = await failuresOf(service, '127.0.0.1');
    const { wrong } = await setup.failedSignIn();
    expect(await failuresOf(service, '127.0.0.1')).toBe(before + 1);
    expect(await failuresOf(service, '198.51.100.23')).toBe(0);

    const requestId = wrong.headers.get('x-request-id');
    const lines = setup.log.of(requestId);
    expect(lines.find((line) => line.msg === 'sign-in failed')).toMatchObject({ ip: '127.0.0.1' });
    expect(lines.find((line) => line.msg === 'request')).toMatchObject({ ip: '127.0.0.1', status: 400 });
    expect(setup.log.lines.some((line) => line.ip === '198.51.100.23')).toBe(false);
  });

  it('cannot claim https with X-Forwarded-Proto: the connection is plain HTTP, so cookies are not marked Secure', async () => {
    const cookies = await setup.authorizeCookies();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie.toLowerCase()).not.toContain('; secure');
  });
});

describe('a client behind a trusted proxy', () => {
  // The default list: loopback, where the test connects from, is a trusted proxy.
  const setup = behindProxies(undefined);

  it('is counted and logged under the address the proxy appended to X-Forwarded-For', async () => {
    const service = setup.service();
    const { wrong } = await setup.failedSignIn();
    expect(await failuresOf(service, '198.51.100.23')).toBe(1);
    expect(await failuresOf(service, '127.0.0.1')).toBe(0);
    const lines = setup.log.of(wrong.headers.get('x-request-id'));
    expect(lines.find((line) => line.msg === 'sign-in failed')).toMatchObject({ ip: '198.51.100.23' });
    expect(lines.find((line) => line.msg === 'request')).toMatchObject({ ip: '198.51.100.23', status: 400 });
  });

  it('is on https when the proxy says so with X-Forwarded-Proto: cookies are marked Secure', async () => {
    const cookies = await setup.authorizeCookies();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie.toLowerCase()).toContain('; secure');
  });
});

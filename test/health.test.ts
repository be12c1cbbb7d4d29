import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTenant } from '../server/directory/index.ts';
import { openStore } from '../server/store/index.ts';
import { startService, type TestService, tempDataDir } from './support/service.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('health, headers and error pages over HTTP', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('answers /healthz while the process is up', async () => {
    const response = await fetch(`${service.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers / with a small page naming the service, in English and Dutch, linking nothing internal', async () => {
    const english = await fetch(`${service.url}/`);
    expect(english.status).toBe(200);
    expect(english.headers.get('content-type')).toMatch(/^text\/html/);
    expect(english.headers.get('vary')).toMatch(/accept-language/i);
    const page = await english.text();
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('<h1 id="page-title">SecureLogin Connect</h1>');
    expect(page).toContain('connects Microsoft Entra ID to SecureLogin');
    // Nothing a stranger could use: no links, no version, no API paths, no request id.
    expect(page).not.toMatch(/<a\s/);
    expect(page).not.toMatch(/\/scim|\/oauth|\/healthz|\/readyz|\/metrics|0\.1\.0|node|reference/i);

    const dutch = await (await fetch(`${service.url}/`, { headers: { 'Accept-Language': 'nl-NL,nl;q=0.9' } })).text();
    expect(dutch).toContain('<html lang="nl">');
    expect(dutch).toContain('verbindt Microsoft Entra ID met SecureLogin');

    const head = await fetch(`${service.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const post = await fetch(`${service.url}/`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('answers /readyz when every store answers', async () => {
    const response = await fetch(`${service.url}/readyz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; checks: Record<string, string> };
    expect(body.status).toBe('ok');
    expect(body.checks.directory).toBe('ok');
    expect(Object.values(body.checks).every((state) => state === 'ok')).toBe(true);
  });

  it('sets the security headers on every response', async () => {
    for (const address of ['/healthz', '/no-such-page', '/static/app.css']) {
      const response = await fetch(`${service.url}${address}`);
      await response.arrayBuffer();
      expect(response.headers.get('content-security-policy'), address).toContain("default-src 'none'");
      expect(response.headers.get('content-security-policy'), address).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options'), address).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), address).toBe('DENY');
      expect(response.headers.get('referrer-policy'), address).toBe('no-referrer');
      expect(response.headers.get('cross-origin-opener-policy'), address).toBe('same-origin');
      // No HSTS on plain http: it would pin a development host to https.
      expect(response.headers.get('strict-transport-security'), address).toBeNull();
    }
  });

  it('gives every request an id, keeping a proxy’s id only when it is safe to log', async () => {
    const first = await fetch(`${service.url}/healthz`);
    const second = await fetch(`${service.url}/healthz`);
    expect(first.headers.get('x-request-id')).toMatch(UUID);
    expect(second.headers.get('x-request-id')).toMatch(UUID);
    expect(first.headers.get('x-request-id')).not.toBe(second.headers.get('x-request-id'));

    const kept = await fetch(`${service.url}/healthz`, { headers: { 'X-Request-Id': 'lb-7f3a9c21.0001' } });
    expect(kept.headers.get('x-request-id')).toBe('lb-7f3a9c21.0001');
    for (const unsafe of ['short', 'has spaces in it', '<script>alert(1)</script>', 'x'.repeat(129)]) {
      const replaced = await fetch(`${service.url}/healthz`, { headers: { 'X-Request-Id': unsafe } });
      expect(replaced.headers.get('x-request-id'), unsafe).toMatch(UUID);
    }
  });

  it('shows a 404 page in HTML, with our own stylesheet and the request id', async () => {
    const response = await fetch(`${service.url}/no-such-page`, { headers: { Accept: 'text/html' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<h1 id="page-title">Page not found</h1>');
    expect(html).toContain(`<code id="reference">${response.headers.get('x-request-id')}</code>`);
    expect(html).toContain('<link rel="stylesheet" href="/static/app.css">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('answers 404 in JSON to a client that asks for JSON', async () => {
    const response = await fetch(`${service.url}/no-such-page`, { headers: { Accept: 'application/json' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      error: 'Page not found',
      message: expect.stringContaining('There is nothing at this address'),
      requestId: response.headers.get('x-request-id'),
    });
  });

  it('serves its own stylesheet', async () => {
    const response = await fetch(`${service.url}/static/app.css`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/css/);
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect((await response.text()).length).toBeGreaterThan(100);
  });

  it('refuses a method a health route does not have', async () => {
    const response = await fetch(`${service.url}/healthz`, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toContain('GET');
  });
});

describe('readiness when a store stops answering', () => {
  it('answers /readyz 503 with the store named, while /healthz stays 200', async () => {
    const service = await startService();
    try {
      // The directory store going away, as a database server restart would look to the app.
      await service.store.close();
      const ready = await fetch(`${service.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toBe('5');
      const body = await ready.json();
      expect(body).toMatchObject({ status: 'unavailable', checks: { directory: 'unavailable' } });
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    } finally {
      await service.stop();
    }
  });
});

describe('HSTS behind https', () => {
  it('is sent when PUBLIC_URL is https', async () => {
    const service = await startService({ PUBLIC_URL: 'https://connect.example.test' });
    try {
      const response = await fetch(`${service.url}/healthz`);
      expect(response.headers.get('strict-transport-security')).toMatch(/^max-age=\d{7,}/);
    } finally {
      await service.stop();
    }
  });
});

interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** `npm start` as a person runs it, on a port the system picks and its own data folder. */
class ServerProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';
  private waiters: (() => void)[] = [];

  constructor(dataDir: string) {
    this.child = spawn(process.execPath, ['server/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' },
    });
    let pending = '';
    this.child.stdout!.on('data', (chunk) => {
      pending += chunk;
      const complete = pending.split('\n');
      pending = complete.pop()!;
      for (const text of complete) if (text.trim()) this.lines.push(JSON.parse(text));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr!.on('data', (chunk) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** The first log line matching `test`, waiting for it if need be. */
  async line(test: (line: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(test);
      if (found) return found;
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`no such log line; got:\n${this.lines.map((l) => l.msg).join('\n')}\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  async url(): Promise<string> {
    const listening = await this.line((l) => l.msg.startsWith('SecureLogin Connect listening'));
    return `http://127.0.0.1:${listening.port}`;
  }
}

/** A whole HTTP/1.1 response with a Content-Length body has arrived. */
function complete(response: string): boolean {
  const end = response.indexOf('\r\n\r\n');
  if (end === -1) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(response.slice(0, end));
  return length !== null && Buffer.byteLength(response.slice(end + 4)) >= Number(length[1]);
}

async function connectionRefused(port: number): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const outcome = await new Promise<'refused' | 'accepted' | 'self' | string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        // With nothing listening, Linux may join a connection whose source port
        // happens to equal the destination to itself; that says nothing about the server.
        resolve(socket.localPort === port ? 'self' : 'accepted');
        socket.destroy();
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : String(error.code)));
    });
    if (outcome !== 'self') return outcome === 'refused';
  }
  return false;
}

describe('the server process', () => {
  it('on first start logs how to register the first tenant, and stops cleanly on Ctrl-C (SIGINT)', async () => {
    const dataDir = tempDataDir();
    const server = new ServerProcess(dataDir);
    try {
      const url = await server.url();
      const hint = await server.line((l) => l.msg.includes('npx securelogin tenant add'));
      expect(hint.level).toBe('info');
      expect(hint.msg).toContain("npx securelogin tenant add example.com --name 'Example'");
      // Not the default ./data: the command names the folder, so that copied into another terminal it writes here.
      expect(hint.msg).toContain(`DATA_DIR=${dataDir} npx securelogin tenant add`);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      server.child.kill('SIGINT');
      expect(await server.exited).toBe(0);
      expect(server.lines.at(-1)?.msg).toBe('stopped');
      expect(server.stderr).toBe('');
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('on SIGTERM refuses new connections, finishes the request in flight, and exits 0', async () => {
    const dataDir = tempDataDir();
    const store = await openStore({ dataDir, databaseUrl: undefined });
    await addTenant(store.db, 'acme.example', 'Acme');
    await store.close();

    const server = new ServerProcess(dataDir);
    try {
      const url = await server.url();
      const port = Number(new URL(url).port);
      expect(server.lines.some((l) => l.msg.includes('No tenant registered yet'))).toBe(false);

      // A token request whose body arrives slowly, as over a poor link: the
      // token endpoint reads the whole body before it answers.
      const body = 'grant_type=refresh_token&refresh_token=not-a-real-token&client_id=no-such-client&client_secret=x';
      const socket = net.connect({ host: '127.0.0.1', port });
      await new Promise((resolve) => socket.once('connect', resolve));
      let response = '';
      socket.on('data', (chunk) => {
        response += chunk;
      });
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.write(
        'POST /oauth/token HTTP/1.1\r\n' +
          `Host: 127.0.0.1:${port}\r\n` +
          'Content-Type: application/x-www-form-urlencoded\r\n' +
          'Accept: application/json\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
          body.slice(0, 20),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(response, 'the server answered before the body was complete').toBe('');

      server.child.kill('SIGTERM');
      await server.line((l) => l.msg.startsWith('shutting down'));
      expect(await connectionRefused(port)).toBe(true);
      expect(server.child.exitCode).toBeNull();

      socket.write(body.slice(20));
      const answered = Date.now() + 10_000;
      while (!complete(response) && Date.now() < answered) await new Promise((resolve) => setTimeout(resolve, 50));
      socket.end();
      await closed;
      const [head, payload] = response.split('\r\n\r\n');
      const status = Number(head.split(' ')[1]);
      expect(status, head).toBeGreaterThanOrEqual(400);
      expect(status, head).toBeLessThan(500);
      expect(JSON.parse(payload)).toMatchObject({ error: expect.any(String) });

      expect(await server.exited).toBe(0);
      expect(server.lines.at(-1)?.msg).toBe('stopped');
      const served = server.lines.find((l) => l.msg === 'request' && l.path === '/oauth/token');
      expect(served?.status).toBe(status);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

/// <reference lib="dom" />
// An Entra admin's Authorize, in a real Chromium against the real server
// process, with the tenant registered by the real CLI. Entra's own page
// (portal.azure.com) is the one thing not reached: this machine has no
// internet, so the browser's request to it is answered locally and the URL
// it was sent to is what the test checks.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../server/web/index.ts';
import { freePort } from '../test/support/service.ts';
import { keepScreenshot, launchChromium } from './browser.ts';

const ENTRA = 'https://portal.azure.com/TokenAuthorize';
const DOMAIN = 'contoso.example';
const MANAGER = 'alice@contoso.example';
const PASSWORD = 'correct horse battery staple';

let dataDir: string;
let baseUrl: string;
let server: ChildProcess;
let browser: Browser;
let client: { client_id: string; client_secret: string };
let anyTenantClient: { client_id: string; client_secret: string };

function cli(args: string[], input?: string): string {
  const run = spawnSync(process.execPath, [path.join(ROOT, 'bin/securelogin.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PUBLIC_URL: baseUrl, LOG_LEVEL: 'silent' },
    input,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`securelogin ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout;
}

async function waitForReady(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the server did not become ready');
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'slc-e2e-'));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  cli(['tenant', 'add', DOMAIN, '--name', 'Contoso']);
  cli(['tenant', 'add', 'fabrikam.example', '--name', 'Fabrikam']);
  cli(['manager', 'add', DOMAIN, MANAGER, '--password-stdin'], `${PASSWORD}\n`);
  cli(['manager', 'add', DOMAIN, 'bob@contoso.example', '--password-stdin'], `${PASSWORD} bob\n`);
  cli(['manager', 'disable', DOMAIN, 'bob@contoso.example']);
  client = JSON.parse(cli(['client', 'add', DOMAIN, '--json']));
  anyTenantClient = JSON.parse(cli(['client', 'add', '--any-tenant', '--json']));

  server = spawn(process.execPath, [path.join(ROOT, 'server/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, PUBLIC_URL: baseUrl, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForReady(baseUrl);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function newAdminPage(
  options: { locale?: string; viewport?: { width: number; height: number } } = {},
): Promise<{ context: BrowserContext; page: Page; landed: () => URL | undefined }> {
  const context = await browser.newContext({
    locale: options.locale ?? 'en-US',
    viewport: options.viewport ?? { width: 1280, height: 800 },
  });
  let landedAt: URL | undefined;
  await context.route('https://portal.azure.com/**', (route) => {
    landedAt = new URL(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Entra</title><p>Back in Entra</p>' });
  });
  const page = await context.newPage();
  return { context, page, landed: () => landedAt };
}

/** Waits for the page's heading; fails when another page (or an error page) shows instead. */
async function seeHeading(page: Page, text: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name: text, exact: true }).waitFor({ timeout: 10_000 });
}

async function seeAlert(page: Page, text: string): Promise<void> {
  try {
    await page.getByRole('alert').filter({ hasText: text }).waitFor({ timeout: 10_000 });
  } catch (error) {
    await keepScreenshot(page, `failed-${Date.now()}`);
    throw new Error(`no alert saying "${text}"; the page says: ${await page.locator('main').textContent()}`, { cause: error });
  }
}

function authorizeUrl(state: string, clientId = client.client_id): string {
  const url = new URL('/oauth/authorize', baseUrl);
  url.search = new URLSearchParams({ client_id: clientId, redirect_uri: ENTRA, response_type: 'code', state }).toString();
  return url.toString();
}

describe('Authorize in Chromium, as an Entra admin does it', () => {
  it('goes from Authorize through Go to domain, sign-in and consent back to Entra with a code that buys tokens', async () => {
    const { context, page, landed } = await newAdminPage();
    await page.goto(authorizeUrl('xyz'));

    await seeHeading(page, 'Go to domain');
    const domainField = page.getByLabel('Domain');
    // A client bound to one tenant prefills its domain.
    expect(await domainField.inputValue()).toBe(DOMAIN);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('domain');
    await keepScreenshot(page, '1-go-to-domain');
    await page.getByRole('button', { name: 'Go' }).click();

    await seeHeading(page, 'Sign in to Contoso');
    expect(new URL(page.url()).pathname).toContain(DOMAIN);
    await page.getByLabel('Username').fill(MANAGER);
    await page.getByLabel('Password').fill(PASSWORD);
    await keepScreenshot(page, '2-sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await seeHeading(page, 'Allow access');
    const consent = await page.locator('main').textContent();
    expect(consent).toContain('Microsoft Entra ID');
    expect(consent).toContain('Contoso');
    expect(consent).toContain(DOMAIN);
    expect(consent).toContain('create, update, disable and delete users');
    await keepScreenshot(page, '3-consent');
    await page.getByRole('button', { name: 'Allow' }).click();

    await page.waitForURL(/^https:\/\/portal\.azure\.com\//);
    const back = landed();
    expect(back?.origin + (back?.pathname ?? '')).toBe(ENTRA);
    expect(back?.searchParams.get('state')).toBe('xyz');
    const code = back?.searchParams.get('code');
    expect(code).toBeTruthy();
    await keepScreenshot(page, '4-back-in-entra');
    await context.close();

    // What Entra's provisioning service does next, server to server.
    const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
    const token = await fetch(`${baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code as string, redirect_uri: ENTRA }),
    });
    expect(token.status).toBe(200);
    const tokens = (await token.json()) as { access_token: string; refresh_token: string; token_type: string; scope: string };
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope).toBe('scim');

    const testConnection = await fetch(
      `${baseUrl}/scim/v2/Users?filter=${encodeURIComponent('userName eq "7f3c3f9e-4f43-4f3c-9a8d-0d7c2a4d1b11"')}`,
      {
        headers: { Authorization: `Bearer ${tokens.access_token}` },
      },
    );
    expect(testConnection.status).toBe(200);
    expect(await testConnection.json()).toMatchObject({ totalResults: 0, Resources: [] });
  });

  it('says plainly when the password is wrong, and Deny sends Entra access_denied with its state', async () => {
    const { context, page, landed } = await newAdminPage();
    await page.goto(authorizeUrl('deny-state'));
    await page.getByRole('button', { name: 'Go' }).click();
    await page.getByLabel('Username').fill(MANAGER);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await seeAlert(page, 'The username or password is incorrect.');
    await keepScreenshot(page, '5-wrong-password');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL(/^https:\/\/portal\.azure\.com\//);
    expect(landed()?.searchParams.get('error')).toBe('access_denied');
    expect(landed()?.searchParams.get('state')).toBe('deny-state');
    expect(landed()?.searchParams.get('code')).toBeNull();
    await context.close();
  });

  it("refuses an unknown domain, another tenant's domain and a disabled manager, with pages that say what to do", async () => {
    const { context, page } = await newAdminPage();
    // A client that serves any tenant: the domain typed decides, and an unknown one is named.
    await page.goto(authorizeUrl('s', anyTenantClient.client_id));
    await page.getByLabel('Domain').fill('nowhere.example');
    await page.getByRole('button', { name: 'Go' }).click();
    await seeAlert(page, 'no tenant with the domain nowhere.example');
    await keepScreenshot(page, '6-unknown-domain');

    // A client bound to Contoso refuses Fabrikam's domain.
    await page.goto(authorizeUrl('s'));

    await page.getByLabel('Domain').fill('fabrikam.example');
    await page.getByRole('button', { name: 'Go' }).click();
    await seeAlert(page, `set up for the domain ${DOMAIN} only`);
    await keepScreenshot(page, '7-other-tenant-refused');

    await page.getByLabel('Domain').fill(DOMAIN);
    await page.getByRole('button', { name: 'Go' }).click();
    await page.getByLabel('Username').fill('bob@contoso.example');
    await page.getByLabel('Password').fill(`${PASSWORD} bob`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await seeAlert(page, 'disabled');
    await keepScreenshot(page, '8-disabled-manager');
    await context.close();
  });

  it('speaks Dutch to a Dutch browser and fits a phone screen', async () => {
    const { context, page } = await newAdminPage({ locale: 'nl-NL', viewport: { width: 375, height: 740 } });
    await page.goto(authorizeUrl('nl'));
    await seeHeading(page, 'Ga naar domein');
    expect(await page.getByLabel('Domein').inputValue()).toBe(DOMAIN);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);
    await keepScreenshot(page, '9-go-to-domain-nl-phone');
    await page.getByRole('button', { name: 'Ga' }).click();
    await seeHeading(page, 'Aanmelden bij Contoso');
    await keepScreenshot(page, '10-sign-in-nl-phone');
    await context.close();
  });

  it('shows an error page, not a redirect, for a redirect URI that is not registered', async () => {
    const { context, page, landed } = await newAdminPage();
    const url = new URL(authorizeUrl('s'));
    url.searchParams.set('redirect_uri', 'https://attacker.example/steal');
    let leftSite = false;
    await context.route('https://attacker.example/**', (route) => {
      leftSite = true;
      return route.abort();
    });
    const response = await page.goto(url.toString());
    expect(response?.status()).toBe(400);
    expect(leftSite).toBe(false);
    expect(landed()).toBeUndefined();
    expect(await page.locator('main').textContent()).not.toMatch(/at \w+ \(|node_modules/);
    await keepScreenshot(page, '11-unregistered-redirect-uri');
    await context.close();
  });
});

/// <reference lib="dom" />
// Every page of the sign-in, in a real Chromium, in English and Dutch, on a
// desktop and a phone screen, checked by axe-core (Deque's accessibility
// engine) for WCAG violations, with screenshots kept. The server runs in
// process with a stand-in Entra configured, so the login page shows
// Sign in with Microsoft as a tenant with SSO sees it.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addManager, ENTRA_REDIRECT_URI } from '../server/directory/index.ts';
import { setSso } from '../server/sso/index.ts';
import { type SeededTenant, seedTenant } from '../test/support/authorize.ts';
import { type StandInEntra, startStandInEntra } from '../test/support/entra.ts';
import { startService, type TestService } from '../test/support/service.ts';
import { keepScreenshot, launchChromium } from './browser.ts';

const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let entra: StandInEntra;
let service: TestService;
let browser: Browser;
let seeded: SeededTenant;

beforeAll(async () => {
  entra = await startStandInEntra();
  service = await startService({
    ENTRA_AUTHORITY: entra.authority,
    ENTRA_CLIENT_ID: entra.clientId,
    ENTRA_CLIENT_SECRET: entra.clientSecret,
  });
  seeded = await seedTenant(service.store, { name: 'Contoso', domain: 'contoso-pages.example' });
  await setSso(service.store.db, seeded.domain, { entraTenantId: crypto.randomUUID(), required: false });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await entra?.stop();
});

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** axe-core on the page as it is now: no violation of any rule it runs by default (WCAG 2.x A and AA, best practices). */
async function expectAccessible(page: Page, name: string): Promise<void> {
  await keepScreenshot(page, name);
  await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document) => Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run(document)).violations;
  });
  const summary = (violations as Violation[]).map(
    (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`).join('; ')}`,
  );
  expect(summary, `${name} on ${page.url()}`).toEqual([]);
}

async function heading(page: Page, text: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name: text, exact: true }).waitFor({ timeout: 10_000 });
}

const WORDS = {
  en: {
    locale: 'en-GB',
    domain: 'Go to domain',
    go: 'Go',
    login: 'Sign in to Contoso',
    username: 'Username',
    password: 'Password',
    signIn: 'Sign in',
    sso: 'Sign in with Microsoft',
    wrong: 'The username or password is incorrect.',
    consent: 'Allow access',
    allow: 'Allow',
    finished: 'Access was allowed',
    expired: 'This sign-in has expired',
    notFound: 'Page not found',
  },
  nl: {
    locale: 'nl-NL',
    domain: 'Ga naar domein',
    go: 'Ga',
    login: 'Aanmelden bij Contoso',
    username: 'Gebruikersnaam',
    password: 'Wachtwoord',
    signIn: 'Aanmelden',
    sso: 'Aanmelden met Microsoft',
    wrong: 'De gebruikersnaam of het wachtwoord is onjuist.',
    consent: 'Toegang toestaan',
    allow: 'Toestaan',
    finished: 'Toegang is toegestaan',
    expired: 'Deze aanmelding is verlopen',
    notFound: 'Pagina niet gevonden',
  },
} as const;

const SCREENS = [
  { label: '1280', viewport: { width: 1280, height: 800 } },
  { label: '375', viewport: { width: 375, height: 740 } },
] as const;

describe('every sign-in page passes axe-core, in English and Dutch, at 1280 and 375 px', () => {
  for (const lang of ['en', 'nl'] as const) {
    for (const screen of SCREENS) {
      it(`${lang} at ${screen.label} px`, async () => {
        const words = WORDS[lang];
        // A manager of its own: the wrong password below must not count against another run's sign-in.
        const manager = { username: `${lang}-${screen.label}@contoso-pages.example`, password: `Pages password ${lang} ${screen.label}` };
        await addManager(service.store.db, seeded.domain, manager.username, manager.password);
        const at = (page: string) => `pages-${lang}-${screen.label}-${page}`;
        // bypassCSP: our CSP allows no inline script, and axe is injected as one.
        const context = await browser.newContext({ locale: words.locale, viewport: screen.viewport, bypassCSP: true });
        await context.route(`${new URL(ENTRA_REDIRECT_URI).origin}/**`, (route) =>
          route.fulfill({
            status: 200,
            contentType: 'text/html',
            body: '<!doctype html><html lang="en"><title>Entra</title><main>Entra</main></html>',
          }),
        );
        const page = await context.newPage();
        const authorize = new URL('/oauth/authorize', service.url);
        authorize.search = new URLSearchParams({
          client_id: seeded.client.clientId,
          redirect_uri: ENTRA_REDIRECT_URI,
          response_type: 'code',
          state: `pages-${lang}-${screen.label}`,
        }).toString();
        await page.goto(authorize.toString());

        await heading(page, words.domain);
        expect(await page.locator('html').getAttribute('lang')).toBe(lang);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow).toBe(0);
        await expectAccessible(page, at('1-go-to-domain'));
        await page.getByRole('button', { name: words.go, exact: true }).click();

        await heading(page, words.login);
        await page.getByRole('button', { name: words.sso }).waitFor();
        await expectAccessible(page, at('2-sign-in-with-sso'));

        await page.getByLabel(words.username).fill(manager.username);
        await page.getByLabel(words.password).fill('not the password');
        await page.getByRole('button', { name: words.signIn, exact: true }).click();
        await page.getByRole('alert').filter({ hasText: words.wrong }).waitFor();
        // The cursor is back in the password field, with no script on the page.
        // (autofocus is applied once the page has rendered, a moment after the alert shows)
        await expect.poll(() => page.evaluate(() => document.activeElement?.id), { timeout: 10_000 }).toBe('password');
        await expectAccessible(page, at('3-wrong-password'));

        // The focus ring: an outline outside the field, at least 3:1 against the card, the red border kept.
        const ring = await page.locator('#password').evaluate((field) => {
          const style = getComputedStyle(field);
          return {
            outline: style.outlineStyle,
            width: Number.parseFloat(style.outlineWidth),
            offset: Number.parseFloat(style.outlineOffset),
            color: style.outlineColor,
            border: style.borderTopColor,
          };
        });
        expect(ring.outline).toBe('solid');
        expect(ring.width).toBeGreaterThanOrEqual(2);
        expect(ring.offset).toBeGreaterThan(0);
        expect(contrast(ring.color, 'rgb(255, 255, 255)')).toBeGreaterThanOrEqual(3);
        expect(ring.border).toBe('rgb(164, 38, 44)');

        await page.getByLabel(words.password).fill(manager.password);
        await page.getByRole('button', { name: words.signIn, exact: true }).click();
        await heading(page, words.consent);
        await expectAccessible(page, at('4-consent'));
        await page.getByRole('button', { name: words.allow, exact: true }).click();
        await page.waitForURL((url) => url.origin === new URL(ENTRA_REDIRECT_URI).origin);

        await page.goBack();
        await heading(page, words.finished);
        await expectAccessible(page, at('5-back-after-allow'));

        await page.goto(new URL('/oauth/interaction/no-such-interaction', service.url).toString());
        await heading(page, words.expired);
        await expectAccessible(page, at('6-error'));

        await page.goto(new URL('/no-such-page', service.url).toString());
        await heading(page, words.notFound);
        await expectAccessible(page, at('7-not-found'));
        await context.close();
      });
    }
  }
});

/** WCAG's contrast ratio of two rgb() colours. */
function contrast(a: string, b: string): number {
  const luminance = (color: string) => {
    const [r, g, bl] = (color.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((value) => {
      const c = Number(value) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

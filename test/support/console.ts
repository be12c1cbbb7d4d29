import { expect } from 'vitest';
import { Browser, excerpt, goToDomain, type Response, type Service, submit } from './authorize.ts';

/*
 * A manager's browser in the console: /console/login, the tenant's own
 * sign-in at our provider (Go to domain, password), back to
 * /console/callback, every redirect followed by hand.
 */

/** Signs in to the console; the answer is the callback's (a redirect to the connections page, or a refusal page). */
export async function consoleSignIn(
  service: Service,
  who: { domain: string; username: string; password: string },
  browser = new Browser(service.url),
): Promise<{ browser: Browser; callback: Response }> {
  const start = await browser.get('/console/login');
  expect(start.status, excerpt(start.text)).toBe(302);
  expect(start.location).toContain('/oauth/authorize?');
  const domainPage = await browser.follow(await browser.follow(start));
  expect(domainPage.status, excerpt(domainPage.text)).toBe(200);
  const login = await goToDomain(browser, domainPage, who.domain);
  expect(login.status, excerpt(login.text)).toBe(200);
  let answer = await submit(browser, login, 'login-form', { username: who.username, password: who.password });
  for (let hops = 0; hops < 10 && [302, 303].includes(answer.status); hops++) {
    if (new URL(answer.location!, service.url).pathname === '/console/callback') break;
    answer = await browser.follow(answer);
  }
  expect(answer.location, `expected the redirect to /console/callback: ${answer.status} ${excerpt(answer.text)}`).toContain(
    '/console/callback',
  );
  const callback = await browser.get(answer.location!);
  return { browser, callback };
}

/** Signed in, on the connections page. */
export async function consolePage(
  service: Service,
  who: { domain: string; username: string; password: string },
): Promise<{ browser: Browser; page: Response }> {
  const { browser, callback } = await consoleSignIn(service, who);
  expect(callback.status, excerpt(callback.text)).toBe(302);
  expect(callback.location).toBe('/console/connections');
  const page = await browser.follow(callback);
  expect(page.status, excerpt(page.text)).toBe(200);
  return { browser, page };
}

/** The connection's block on the connections page: its verdict, reasons and facts. */
export function connectionOn(html: string, grantId: string) {
  const match = new RegExp(
    `<li class="connection[^"]*" id="connection-${grantId}"[^>]*data-verdict="([a-z_]+)"[^>]*>([\\s\\S]*?)<!-- /connection -->`,
  ).exec(html);
  if (!match) return undefined;
  const role = (name: string) => {
    const found = new RegExp(`data-role="${name}"[^>]*>([\\s\\S]*?)</(dd|ul|p|span)>`).exec(match[2]);
    return found
      ? found[1]
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .trim()
      : undefined;
  };
  return {
    verdict: match[1],
    reasons: role('reasons'),
    manager: role('manager'),
    lastRequest: role('last-request'),
    lastTest: role('last-test'),
    lastRefresh: role('last-refresh'),
    outcomes: role('outcomes'),
  };
}

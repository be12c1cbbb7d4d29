import { describe, expect, it } from 'vitest';
import { authorizeSeeded, refresh, seedTenant } from './support/authorize.ts';
import { securelogin } from './support/cli.ts';
import { startService, tempDataDir } from './support/service.ts';

async function jwksKids(url: string): Promise<string[]> {
  const jwks = (await (await fetch(`${url}/oauth/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
  expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
  return jwks.keys.map((k) => k.kid);
}

describe('securelogin keys rotate', () => {
  it('puts new keys in use after a restart while Entra connections made before keep working', async () => {
    const dataDir = tempDataDir();
    let service = await startService({ DATA_DIR: dataDir });
    // The same address after the restart: PUBLIC_URL is the tokens' audience.
    const env = { DATA_DIR: dataDir, PORT: new URL(service.url).port, PUBLIC_URL: service.config.publicUrl.origin };
    const seeded = await seedTenant(service.store);
    const before = await authorizeSeeded(service, seeded);
    const kidsBefore = await jwksKids(service.url);
    expect(kidsBefore).toHaveLength(1);
    await service.stop();

    const rotated = await securelogin(dataDir, ['keys', 'rotate', '--json']);
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    const summary = JSON.parse(rotated.stdout);
    expect(summary.signing_keys).toHaveLength(2);
    expect(summary.signing_keys[1]).toBe(kidsBefore[0]);
    expect(summary.cookie_keys).toBe(2);
    expect(summary.restart_required).toBe(true);
    expect(rotated.stdout).not.toMatch(/"d":|"kty"/);

    service = await startService(env);
    try {
      expect(await jwksKids(service.url)).toEqual(summary.signing_keys);
      // The connection authorized before the rotation refreshes as always.
      const refreshed = await refresh(service, { ...seeded.client, refreshToken: before.refresh_token });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      // And a new Authorize goes through with the new cookie key.
      const after = await authorizeSeeded(service, seeded);
      expect(after.access_token).toBeTruthy();
    } finally {
      await service.stop();
    }
  });

  it('calls a stored key the signing key only where it signs: the running instances sign with the previous one until restarted', async () => {
    const dataDir = tempDataDir();
    const first = await securelogin(dataDir, ['keys', 'show']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^ {2}\S+ {2}\(signs\)$/m);

    expect((await securelogin(dataDir, ['keys', 'rotate'])).code).toBe(0);
    const shown = await securelogin(dataDir, ['keys', 'show']);
    const [newest, previous] = shown.stdout.split('\n').filter((line) => line.startsWith('  '));
    expect(newest).toMatch(/\(newest: signs on every instance started since it was added\)$/);
    expect(previous).toMatch(/\(verifies; still signs on instances not restarted since the newest was added\)$/);
    expect(shown.stdout).not.toContain('(signs)');
    const states = JSON.parse((await securelogin(dataDir, ['keys', 'show', '--json'])).stdout).signing_key_states;
    expect(states.map((s: { state: string }) => s.state)).toEqual(['newest', 'previous']);
  });

  it('keeps the newest three of each kind', async () => {
    const dataDir = tempDataDir();
    for (let i = 0; i < 4; i++) expect((await securelogin(dataDir, ['keys', 'rotate'])).code).toBe(0);
    const shown = await securelogin(dataDir, ['keys', 'show', '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ cookie_keys: 3, source: { jwks: 'store', cookie_keys: 'store' } });
    expect(JSON.parse(shown.stdout).signing_keys).toHaveLength(3);
  });

  it('refuses, in one line, to rotate keys the configuration gives', async () => {
    const outcome = await securelogin(tempDataDir(), ['keys', 'rotate'], {
      env: { JWKS: JSON.stringify({ keys: [{ kty: 'RSA', d: 'x' }] }), COOKIE_KEYS: JSON.stringify(['k'.repeat(32)]) },
    });
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toBe('securelogin: the keys are given by configuration (JWKS and COOKIE_KEYS): rotate them there\n');
  });
});

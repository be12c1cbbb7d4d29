import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../server/ops/cli.ts';
import { tempDataDir } from './support/service.ts';

/** The securelogin command in this process, on its own data folder: exit status and what it printed. */
async function securelogin(dataDir: string, args: string[], env: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => {
    out += chunk;
  });
  stderr.on('data', (chunk) => {
    err += chunk;
  });
  const code = await main(
    args,
    { stdin: new PassThrough(), stdout, stderr },
    {
      DATA_DIR: dataDir,
      PUBLIC_URL: 'https://connect.example.test',
      LOG_LEVEL: 'silent',
      ...env,
    },
  );
  return { code, stdout: out, stderr: err };
}

const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ENTRA = { ENTRA_CLIENT_ID: 'app-id', ENTRA_CLIENT_SECRET: 'app-secret' };

describe('securelogin sso', () => {
  it('sets, shows and turns off single sign-on, in text and JSON', async () => {
    const dataDir = tempDataDir();
    expect((await securelogin(dataDir, ['tenant', 'add', 'acme.example', '--name', 'Acme'])).code).toBe(0);

    const set = await securelogin(dataDir, ['sso', 'set', 'acme.example', '--entra-tenant', TID.toUpperCase(), '--require'], ENTRA);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`pinned to the Entra tenant ${TID}`);
    expect(set.stdout).toContain('Password sign-in is off except for managers.');
    expect(set.stdout).toContain('https://connect.example.test/sso/callback');

    const shown = await securelogin(dataDir, ['sso', 'show', 'acme.example', '--json'], ENTRA);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual({
      domain: 'acme.example',
      enabled: true,
      entra_tenant_id: TID,
      required: true,
      redirect_uri: 'https://connect.example.test/sso/callback',
      sign_on_url: null,
      sign_on_apps: [],
      app_registration: true,
      linked_accounts: 0,
    });
    const text = await securelogin(dataDir, ['sso', 'show', 'acme.example']);
    expect(text.stdout).toContain(`Entra tenant id:  ${TID}`);
    expect(text.stdout).toContain('ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET are not set here');

    const relaxed = await securelogin(dataDir, ['sso', 'set', 'acme.example', '--entra-tenant', TID, '--json']);
    expect(JSON.parse(relaxed.stdout).required).toBe(false);

    const off = await securelogin(dataDir, ['sso', 'off', 'acme.example']);
    expect(off.code).toBe(0);
    expect(JSON.parse((await securelogin(dataDir, ['sso', 'show', 'acme.example', '--json'])).stdout).enabled).toBe(false);
    const again = await securelogin(dataDir, ['sso', 'off', 'acme.example']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      'securelogin: single sign-on is not set for acme.example; set it with: securelogin sso set acme.example --entra-tenant <tenant-id>\n',
    );
  });

  it("prints the sign-on URL of the tenant's SecureLogin app, one per app when there are several, none for a public app", async () => {
    const dataDir = tempDataDir();
    await securelogin(dataDir, ['tenant', 'add', 'acme.example', '--name', 'Acme']);
    await securelogin(dataDir, ['sso', 'set', 'acme.example', '--entra-tenant', TID], ENTRA);
    const app = ['--app', '--redirect-uri', 'https://app.example/callback'];
    await securelogin(dataDir, ['client', 'add', 'acme.example', ...app, '--public', '--name', 'Desktop']);
    const onlyPublic = await securelogin(dataDir, ['sso', 'show', 'acme.example']);
    expect(onlyPublic.stdout).toContain(
      'Sign-on URL:      none yet: register the SecureLogin app with: securelogin client add acme.example --app',
    );

    const web = JSON.parse((await securelogin(dataDir, ['client', 'add', 'acme.example', ...app, '--json'])).stdout);
    expect(web.sign_on_url).toBe(`https://connect.example.test/sso/start?domain=acme.example&client_id=${web.client_id}`);
    const one = await securelogin(dataDir, ['sso', 'show', 'acme.example', '--json']);
    expect(JSON.parse(one.stdout)).toMatchObject({
      sign_on_url: 'https://connect.example.test/sso/start?domain=acme.example',
      sign_on_apps: [
        {
          client_id: web.client_id,
          name: 'SecureLogin',
          tenant: 'acme.example',
          sign_on_url: `https://connect.example.test/sso/start?domain=acme.example&client_id=${web.client_id}`,
          launches: `https://connect.example.test/oauth/authorize?client_id=${web.client_id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&response_type=code&scope=openid%20profile%20email&domain_hint=acme.example`,
        },
      ],
    });
    expect((await securelogin(dataDir, ['sso', 'show', 'acme.example'])).stdout).toContain(
      `Sign-on URL:      https://connect.example.test/sso/start?domain=acme.example (opens SecureLogin, ${web.client_id})`,
    );

    const shared = JSON.parse((await securelogin(dataDir, ['client', 'add', '--any-tenant', ...app, '--name', 'Shared', '--json'])).stdout);
    const two = await securelogin(dataDir, ['sso', 'show', 'acme.example']);
    expect(two.stdout).toContain('(opens the app bound to acme.example); or one per app:');
    expect(two.stdout).toContain(`https://connect.example.test/sso/start?domain=acme.example&client_id=${shared.client_id}`);
    await securelogin(dataDir, ['client', 'add', 'acme.example', ...app, '--name', 'Beta']);
    const three = await securelogin(dataDir, ['sso', 'show', 'acme.example', '--json']);
    expect(JSON.parse(three.stdout).sign_on_url).toBeNull();
    expect(JSON.parse(three.stdout).sign_on_apps).toHaveLength(3);
    expect((await securelogin(dataDir, ['sso', 'show', 'acme.example'])).stdout).toContain(
      'Sign-on URLs (one per app; paste the one Entra should open):',
    );
  });

  it('refuses /common, /organizations, a domain and a missing tenant id, in one line', async () => {
    const dataDir = tempDataDir();
    await securelogin(dataDir, ['tenant', 'add', 'acme.example', '--name', 'Acme']);
    for (const id of ['common', 'organizations', 'contoso.onmicrosoft.com', `${TID}x`]) {
      const refused = await securelogin(dataDir, ['sso', 'set', 'acme.example', '--entra-tenant', id]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^securelogin: ".*" is not an Entra tenant id: .*\n$/);
    }
    const missing = await securelogin(dataDir, ['sso', 'set', 'acme.example']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing --entra-tenant');
    const unknown = await securelogin(dataDir, ['sso', 'show', 'nope.example']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('securelogin: no tenant has the domain nope.example\n');
  });

  it('has help, and an http:// Entra authority is a configuration error off loopback', async () => {
    const dataDir = tempDataDir();
    const help = await securelogin(dataDir, ['sso', 'set', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--entra-tenant <tenant-id>');
    expect(help.stdout).toContain('--require');
    const group = await securelogin(dataDir, ['sso', '--help']);
    expect(group.stdout).toContain('sso');
    const bad = await securelogin(dataDir, ['sso', 'show', 'acme.example'], { ...ENTRA, ENTRA_AUTHORITY: 'http://login.example.test' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^securelogin: configuration error: ENTRA_AUTHORITY: must be https:\/\/.*\n$/);
    const half = await securelogin(dataDir, ['sso', 'show', 'acme.example'], { ENTRA_CLIENT_ID: 'only-the-id' });
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('ENTRA_CLIENT_SECRET: is required with ENTRA_CLIENT_ID');
  });
});

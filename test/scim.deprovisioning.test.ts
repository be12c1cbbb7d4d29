import { beforeAll, expect, it } from 'vitest';
import { addManager, disableAccount, enableAccount } from '../server/directory/index.ts';
import { authorize, type Browser, excerpt, goToDomain, type Response, signIn, startAuthorize } from './support/authorize.ts';
import { eachBackend, entraUser, provisioningTenant, ScimClient, type ScimTenant } from './support/scim.ts';
import type { TestService } from './support/service.ts';

/*
 * Deprovisioning as a person feels it: once Entra sets active to false, or
 * deletes the user, that user's sign-in fails, and the tokens they allowed
 * stop working. SCIM-provisioned users get a password (and the manager role)
 * only from the operator's CLI, which is what makes sign-in possible first.
 */

eachBackend('deprovisioning', (service) => {
  let tenant: ScimTenant;
  const password = 'Correct horse battery staple 9';

  beforeAll(async () => {
    tenant = await provisioningTenant(service() as TestService);
  });

  /** Entra provisions the user, the operator makes them a manager with a password; returns their SCIM id. */
  async function provisionedManager(userName: string): Promise<string> {
    const created = await tenant.scim.post('/Users', entraUser(userName));
    expect(created.status).toBe(201);
    await addManager(service().store.db, tenant.seeded.domain, userName, password);
    return created.body.id;
  }

  /** The manager's own Authorize through the tenant's client, and a SCIM client holding the token it gave. */
  async function scimAs(userName: string): Promise<ScimClient> {
    const tokens = await authorize(service(), {
      domain: tenant.seeded.domain,
      username: userName,
      password,
      clientId: tenant.seeded.client.clientId,
      clientSecret: tenant.seeded.client.clientSecret,
    });
    return new ScimClient(service(), tokens.access_token);
  }

  /** Go to domain and sign in; the page that follows (consent when sign-in worked). */
  async function attemptSignIn(userName: string): Promise<{ page: Response; browser: Browser }> {
    const started = await startAuthorize(service(), { clientId: tenant.seeded.client.clientId });
    const login = await goToDomain(started.browser, started.page, tenant.seeded.domain);
    expect(login.status, excerpt(login.text)).toBe(200);
    return { page: await signIn(started.browser, login, userName, password), browser: started.browser };
  }

  const signedIn = (page: Response) => page.status === 200 && page.text.includes('id="consent-form"');

  it('after PATCH active false (Entra\'s "False"), the user cannot sign in and their token stops; true lets them back', async () => {
    const id = await provisionedManager('carol@deprovision.example');
    expect(signedIn((await attemptSignIn('carol@deprovision.example')).page)).toBe(true);
    const carol = await scimAs('carol@deprovision.example');
    expect((await carol.get('/Users?count=1')).status).toBe(200);

    const disabled = await tenant.scim.patch(`/Users/${id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });
    expect(disabled.status).toBe(200);

    const refused = await attemptSignIn('carol@deprovision.example');
    expect(signedIn(refused.page)).toBe(false);
    expect(refused.page.status).toBe(403);
    expect(refused.page.text).toContain('id="login-form"');
    const denied = await carol.get('/Users?count=1');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('content-type')).toMatch(/^application\/scim\+json/);

    await tenant.scim.patch(`/Users/${id}`, { Operations: [{ op: 'replace', path: 'active', value: true }] });
    expect(signedIn((await attemptSignIn('carol@deprovision.example')).page)).toBe(true);
  });

  it('after DELETE, the user cannot sign in, their token stops, and their memberships are gone', async () => {
    const id = await provisionedManager('dave@deprovision.example');
    const group = await tenant.scim.post('/Groups', { displayName: 'Dave and friends', members: [{ value: id }] });
    const dave = await scimAs('dave@deprovision.example');
    expect((await dave.get('/Groups?excludedAttributes=members')).status).toBe(200);

    expect((await tenant.scim.delete(`/Users/${id}`)).status).toBe(204);

    const refused = await attemptSignIn('dave@deprovision.example');
    expect(signedIn(refused.page)).toBe(false);
    expect(refused.page.text).toContain('id="login-form"');
    expect((await dave.get('/Groups')).status).toBe(401);
    const after = await tenant.scim.get(`/Groups/${group.body.id}`);
    expect(after.body).not.toHaveProperty('members');
    expect(after.body.meta.version).toBe('W/"2"');
  });

  it('a PUT that leaves active out does not re-enable a disabled user', async () => {
    const id = await provisionedManager('erin@deprovision.example');
    await tenant.scim.patch(`/Users/${id}`, { Operations: [{ op: 'replace', path: 'active', value: false }] });
    const put = await tenant.scim.put(`/Users/${id}`, { userName: 'erin@deprovision.example', displayName: 'Erin' });
    expect(put.body.active).toBe(false);
    expect(signedIn((await attemptSignIn('erin@deprovision.example')).page)).toBe(false);
  });
  it('a manager the operator disabled stays disabled when Entra sets active back to true, until the operator enables them', async () => {
    const id = await provisionedManager('frank@deprovision.example');
    const frank = await scimAs('frank@deprovision.example');
    expect((await frank.get('/Users?count=1')).status).toBe(200);

    await disableAccount(service().store.db, tenant.seeded.domain, 'frank@deprovision.example');
    expect((await frank.get('/Users?count=1')).status).toBe(401);

    // Entra's next cycle sees the user active in its own directory and says so.
    const reactivated = await tenant.scim.patch(`/Users/${id}`, { Operations: [{ op: 'Replace', path: 'active', value: 'True' }] });
    expect(reactivated.status).toBe(200);
    expect(reactivated.body.active).toBe(true);

    expect((await frank.get('/Users?count=1')).status).toBe(401);
    const refused = await attemptSignIn('frank@deprovision.example');
    expect(signedIn(refused.page)).toBe(false);
    expect(refused.page.status).toBe(403);

    await enableAccount(service().store.db, tenant.seeded.domain, 'frank@deprovision.example');
    expect((await frank.get('/Users?count=1')).status).toBe(200);
    expect(signedIn((await attemptSignIn('frank@deprovision.example')).page)).toBe(true);
  });
});

import { findSso, type SsoSettings, setSso, ssoOff, ssoRedirectUri } from '../sso/index.ts';
import { type Command, type Group, UsageError } from './command.ts';
import { showDomain } from './tenant.ts';

function ssoJson(domain: string, settings: SsoSettings | undefined, publicUrl: URL, appRegistered: boolean) {
  return {
    domain,
    enabled: Boolean(settings),
    entra_tenant_id: settings?.entraTenantId ?? null,
    required: settings?.required ?? false,
    redirect_uri: ssoRedirectUri(publicUrl),
    // The start of a SecureLogin sign-in for this tenant, for Entra's My Apps.
    sign_on_url: signOnUrl(publicUrl, domain),
    app_registration: appRegistered,
  };
}

function signOnUrl(publicUrl: URL, domain: string): string {
  return `${publicUrl.origin}/sso/start?domain=${encodeURIComponent(domain)}`;
}

function warning(appRegistered: boolean): string[] {
  return appRegistered
    ? []
    : ['Note: ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET are not set here, so no sign-in page offers Microsoft until they are.'];
}

const set: Command = {
  name: 'set',
  summary: 'Turn on sign-in with Microsoft for a tenant, pinned to one Entra tenant',
  args: ['domain'],
  options: {
    'entra-tenant': {
      type: 'string',
      value: 'tenant-id',
      description: "The Directory (tenant) ID of the customer's Microsoft Entra tenant, a GUID (required)",
    },
    require: {
      type: 'boolean',
      description: 'Turn password sign-in off for everyone but managers (who keep theirs as break-glass)',
    },
  },
  details:
    'Only ID tokens of that Entra tenant are trusted (issuer {ENTRA_AUTHORITY}/<tenant-id>/v2.0 and tid).\n' +
    'Setting it again replaces the tenant id and the --require choice; a different tenant id removes the existing links.',
  async run({ args, options, store, config }) {
    const entraTenant = options['entra-tenant'];
    if (typeof entraTenant !== 'string' || entraTenant.trim() === '') {
      throw new UsageError(
        `missing --entra-tenant <tenant-id>: usage: securelogin sso set ${args.domain} --entra-tenant <tenant-id> [--require]`,
      );
    }
    const { tenant, settings } = await setSso(store.db, args.domain!, { entraTenantId: entraTenant, required: options.require === true });
    const domain = tenant.domains[0];
    const appRegistered = Boolean(config.entra);
    return {
      json: ssoJson(domain, settings, config.publicUrl, appRegistered),
      text: [
        `Single sign-on with Microsoft is on for ${tenant.name} (${showDomain(domain)}), pinned to the Entra tenant ${settings.entraTenantId}.`,
        settings.required ? 'Password sign-in is off except for managers.' : 'Password sign-in stays available.',
        `Redirect URI (in the Entra app registration): ${ssoRedirectUri(config.publicUrl)}`,
        ...warning(appRegistered),
      ].join('\n'),
    };
  },
};

const show: Command = {
  name: 'show',
  summary: "Show a tenant's single sign-on: the Entra tenant, whether it is required, the URLs for Entra",
  args: ['domain'],
  async run({ args, store, config }) {
    const { tenant, settings, links } = await findSso(store.db, args.domain!);
    const domain = tenant.domains[0];
    const appRegistered = Boolean(config.entra);
    const lines = settings
      ? [
          `Single sign-on for ${tenant.name} (${showDomain(domain)}): on`,
          `Entra tenant id:  ${settings.entraTenantId}`,
          `Required:         ${settings.required ? 'yes (password sign-in for managers only)' : 'no'}`,
          `Linked accounts:  ${links}`,
        ]
      : [
          `Single sign-on for ${tenant.name} (${showDomain(domain)}): off (turn it on with: securelogin sso set ${domain} --entra-tenant <tenant-id>)`,
        ];
    return {
      json: { ...ssoJson(domain, settings, config.publicUrl, appRegistered), linked_accounts: links },
      text: [
        ...lines,
        `Redirect URI:     ${ssoRedirectUri(config.publicUrl)}`,
        `Sign-on URL:      ${signOnUrl(config.publicUrl, domain)} (placeholder: served once SecureLogin app clients exist)`,
        ...warning(appRegistered),
      ].join('\n'),
    };
  },
};

const off: Command = {
  name: 'off',
  summary: 'Turn single sign-on off for a tenant (passwords work again for whoever has one)',
  args: ['domain'],
  async run({ args, store, config }) {
    const { tenant } = await ssoOff(store.db, args.domain!);
    const domain = tenant.domains[0];
    return {
      json: ssoJson(domain, undefined, config.publicUrl, Boolean(config.entra)),
      text: `Single sign-on is off for ${tenant.name} (${showDomain(domain)}); its sign-in page shows the password form only.`,
    };
  },
};

export const ssoCommands: Group = {
  name: 'sso',
  summary: "A tenant's single sign-on with Microsoft Entra ID: set, show, off",
  commands: [set, show, off],
};

import { findSso, type SsoSettings, setSso, signOnUrls, ssoOff, ssoRedirectUri } from '../sso/index.ts';
import { type Command, type Group, table, UsageError } from './command.ts';
import { showDomain } from './tenant.ts';

type SignOn = Awaited<ReturnType<typeof signOnUrls>>;

function ssoJson(domain: string, settings: SsoSettings | undefined, publicUrl: URL, appRegistered: boolean, signOn: SignOn) {
  return {
    domain,
    enabled: Boolean(settings),
    entra_tenant_id: settings?.entraTenantId ?? null,
    required: settings?.required ?? false,
    redirect_uri: ssoRedirectUri(publicUrl),
    // For Entra's My Apps: launches the tenant's one SecureLogin app; null when it has none or several (then one per app).
    sign_on_url: signOn.signOnUrl,
    sign_on_apps: signOn.apps,
    app_registration: appRegistered,
  };
}

/** The sign-on URL lines of `sso show`: the one to paste, or one per app, or how to get one. */
function signOnText(domain: string, signOn: SignOn): string[] {
  if (signOn.apps.length === 0) {
    return [
      `Sign-on URL:      none yet: register the SecureLogin app with: securelogin client add ${domain} --app --redirect-uri <url>`,
      '                  (a public app, --public, cannot be launched from a URL: it starts its own sign-in with PKCE)',
    ];
  }
  if (signOn.signOnUrl && signOn.apps.length === 1) {
    return [`Sign-on URL:      ${signOn.signOnUrl} (opens ${signOn.apps[0].name}, ${signOn.apps[0].client_id})`];
  }
  return [
    signOn.signOnUrl
      ? `Sign-on URL:      ${signOn.signOnUrl} (opens the app bound to ${domain}); or one per app:`
      : 'Sign-on URLs (one per app; paste the one Entra should open):',
    table(
      ['  CLIENT ID', 'NAME', 'SIGN-ON URL'],
      signOn.apps.map((app) => [`  ${app.client_id}`, `${app.name}${app.tenant === null ? ' (any tenant)' : ''}`, app.sign_on_url]),
    ),
  ];
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
    const signOn = await signOnUrls(store.db, config.publicUrl, tenant.id, domain);
    return {
      json: ssoJson(domain, settings, config.publicUrl, appRegistered, signOn),
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
    const signOn = await signOnUrls(store.db, config.publicUrl, tenant.id, domain);
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
      json: { ...ssoJson(domain, settings, config.publicUrl, appRegistered, signOn), linked_accounts: links },
      text: [
        ...lines,
        `Redirect URI:     ${ssoRedirectUri(config.publicUrl)}`,
        ...signOnText(domain, signOn),
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
    const signOn = await signOnUrls(store.db, config.publicUrl, tenant.id, domain);
    return {
      json: ssoJson(domain, undefined, config.publicUrl, Boolean(config.entra), signOn),
      text: `Single sign-on is off for ${tenant.name} (${showDomain(domain)}); its sign-in page shows the password form only.`,
    };
  },
};

export const ssoCommands: Group = {
  name: 'sso',
  summary: "A tenant's single sign-on with Microsoft Entra ID: set, show, off",
  commands: [set, show, off],
};

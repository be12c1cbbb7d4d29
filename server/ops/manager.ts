import {
  type Account,
  AlreadyManager,
  addManager,
  disableAccount,
  enableAccount,
  findAccount,
  findManager,
  findUserForSignIn,
  getTenant,
  setPassword,
} from '../directory/index.ts';
import type { Command, Group } from './command.ts';
import { readNewPassword } from './password.ts';
import { addressCleared, addressLabel, clientAddress, describeState, stateJson, withSessions } from './unblock.ts';

function accountJson(domain: string, account: Account) {
  return { tenant: domain, id: account.id, user_name: account.userName, role: account.role, active: account.active };
}

const passwordStdin = {
  'password-stdin': { type: 'boolean', description: 'Read the password from the first line of stdin instead of prompting' },
} as const;

function passwordDetails(command: string): string {
  return (
    'On a terminal you are asked for the password twice, without echo (again if the two differ). In scripts, pipe it in:\n' +
    `  printf '%s' "$PASSWORD" | npx securelogin manager ${command} <domain> <username> --password-stdin\n` +
    'A password is never accepted as an argument. It needs at least 12 characters and is stored as an Argon2id hash.'
  );
}

const add: Command = {
  name: 'add',
  summary: 'Make a user a manager of the tenant with a password (creates the user if needed)',
  args: ['domain', 'username'],
  options: passwordStdin,
  details: `${passwordDetails('add')}\nOnly an active manager may sign in and allow Entra's request.`,
  secretive: true,
  async run({ args, options, store, terminal }) {
    // Everything that can be refused is checked before the operator types a password.
    const tenant = await getTenant(store.db, args.domain!);
    const existing = await findUserForSignIn(store.db, tenant.id, args.username!);
    if (existing?.role === 'manager') throw new AlreadyManager(existing.user_name, tenant.domains[0]);
    const password = await readNewPassword(terminal, { fromStdin: options['password-stdin'] === true, userName: args.username! });
    const { account, created } = await addManager(store.db, tenant.domains[0], args.username!, password);
    const domain = tenant.domains[0];
    return {
      json: { ...accountJson(domain, account), created },
      text:
        (created
          ? `Added manager ${account.userName} to tenant ${domain}.`
          : `${account.userName} already was a user of tenant ${domain} and is now a manager with this password.`) +
        `\nNext, register the Entra client: npx securelogin client add ${domain}`,
    };
  },
};

const passwd: Command = {
  name: 'passwd',
  summary: "Set a manager's password",
  args: ['domain', 'username'],
  options: passwordStdin,
  details: passwordDetails('passwd'),
  secretive: true,
  async run({ args, options, store, terminal }) {
    const { tenant, account } = await findManager(store.db, args.domain!, args.username!);
    const password = await readNewPassword(terminal, { fromStdin: options['password-stdin'] === true, userName: account.userName });
    const updated = await setPassword(store.db, tenant.domains[0], account.userName, password);
    return {
      json: accountJson(tenant.domains[0], updated),
      text: `Set a new password for manager ${updated.userName} of tenant ${tenant.domains[0]}.`,
    };
  },
};

const disable: Command = {
  name: 'disable',
  summary: 'Disable a manager: no more sign-in, and the tokens they allowed stop working',
  args: ['domain', 'username'],
  async run({ args, store }) {
    const { tenant, account } = await findManager(store.db, args.domain!, args.username!);
    const updated = await disableAccount(store.db, tenant.domains[0], account.userName);
    return {
      json: accountJson(tenant.domains[0], updated),
      text: `Disabled manager ${updated.userName} of tenant ${tenant.domains[0]}: they cannot sign in, and the tokens they allowed no longer work.`,
    };
  },
};

const enable: Command = {
  name: 'enable',
  summary: 'Enable a disabled manager again',
  args: ['domain', 'username'],
  async run({ args, store }) {
    const { tenant, account } = await findManager(store.db, args.domain!, args.username!);
    if (!account.disabledByOperator) {
      // SCIM's active=false is Entra's to change; enabling here would not let them sign in.
      const why = account.active ? '' : ' They are inactive in the directory Entra provisions, which only Entra changes.';
      return {
        json: { ...accountJson(tenant.domains[0], account), changed: false },
        text: `Manager ${account.userName} of tenant ${tenant.domains[0]} was not disabled: nothing changed.${why}`,
      };
    }
    const updated = await enableAccount(store.db, tenant.domains[0], account.userName);
    return {
      json: accountJson(tenant.domains[0], updated),
      text: `Enabled manager ${updated.userName} of tenant ${tenant.domains[0]}; Entra needs a new Authorize for tokens revoked meanwhile.`,
    };
  },
};

const unlock: Command = {
  name: 'unlock',
  summary: 'Clear everything that holds a manager back from signing in after failed attempts',
  args: ['domain', 'username'],
  options: {
    address: { type: 'string', value: 'ip', description: "Also clear this client address's block (see securelogin unblock)" },
  },
  details:
    "Clears the account's counter of failed attempts from browsers it has not signed in from, with its pause,\n" +
    'and the counters of the browsers it signed in from, and prints what it cleared.\n' +
    'A client address blocked after too many failures (from any accounts) stays blocked unless --address names it.',
  async run(invocation) {
    const { args, options, store } = invocation;
    const { tenant, account } = await findAccount(store.db, args.domain!, args.username!);
    const typedAddress = typeof options.address === 'string' ? clientAddress(options.address) : undefined;
    const { accountThrottleKey, addressThrottleKey } = await import('../sessions/index.ts');
    const addressGroup = typedAddress === undefined ? undefined : addressThrottleKey(typedAddress);
    const [cleared, addressClearedList] = await withSessions(invocation, async (sessions) => [
      await sessions.throttle.clear(accountThrottleKey(tenant.id, account.userName)),
      addressGroup === undefined ? [] : await sessions.throttle.clear(addressGroup),
    ]);
    const domain = tenant.domains[0];
    const strangers = cleared.find((c) => c.member === 'strangers')?.state;
    const browsers = cleared.filter((c) => c.member.startsWith('device:')).map((c) => c.state);
    const address = addressGroup === undefined ? undefined : addressCleared(addressGroup, addressClearedList);

    const lines = [
      ...(strangers ? [describeState(strangers, 'on the account', 'pause')] : []),
      ...browsers.map((state) => describeState(state, 'on a browser it signed in from', 'pause')),
      ...(address ? [address.text] : []),
    ];
    const wasLocked = strangers?.paused === true || browsers.some((state) => state.paused);
    const unblocked = addressGroup === undefined ? '' : address ? '' : ` Address ${addressLabel(addressGroup)} was not blocked.`;
    return {
      json: {
        tenant: domain,
        user_name: account.userName,
        was_locked: wasLocked,
        cleared: {
          account: strangers ? stateJson(strangers) : null,
          browsers: browsers.map(stateJson),
          ...(addressGroup === undefined ? {} : { address: address?.json ?? null }),
        },
      },
      text: lines.length
        ? `Unlocked ${account.userName} of tenant ${domain}; cleared: ${lines.join('; ')}. They may sign in again now.${unblocked}`
        : `${account.userName} of tenant ${domain} was not locked out: no failed attempts were counted.${unblocked}`,
    };
  },
};

export const managerCommands: Group = {
  name: 'manager',
  summary: "A tenant's managers: add, passwd, disable, enable, unlock",
  commands: [add, passwd, disable, enable, unlock],
};

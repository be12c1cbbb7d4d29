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
import { createLogger } from '../log.ts';
import type { Command, Group } from './command.ts';
import { readNewPassword } from './password.ts';

function accountJson(domain: string, account: Account) {
  return { tenant: domain, id: account.id, user_name: account.userName, role: account.role, active: account.active };
}

const passwordStdin = {
  'password-stdin': { type: 'boolean', description: 'Read the password from the first line of stdin instead of prompting' },
} as const;

const passwordDetails =
  'On a terminal you are asked for the password twice, without echo. In scripts, pipe it in:\n' +
  '  printf \'%s\' "$PASSWORD" | npx securelogin manager <command> <domain> <username> --password-stdin\n' +
  'A password is never accepted as an argument. It needs at least 12 characters and is stored as an Argon2id hash.';

const add: Command = {
  name: 'add',
  summary: 'Make a user a manager of the tenant with a password (creates the user if needed)',
  args: ['domain', 'username'],
  options: passwordStdin,
  details: `${passwordDetails}\nOnly an active manager may sign in and allow Entra's request.`,
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
  details: passwordDetails,
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
    const updated = await enableAccount(store.db, tenant.domains[0], account.userName);
    return {
      json: accountJson(tenant.domains[0], updated),
      text: `Enabled manager ${updated.userName} of tenant ${tenant.domains[0]}; Entra needs a new Authorize for tokens revoked meanwhile.`,
    };
  },
};

const unlock: Command = {
  name: 'unlock',
  summary: 'Clear the sign-in lockout after too many wrong passwords',
  args: ['domain', 'username'],
  details: "Clears only this account's failed-attempt counter; throttling by client address is left as it is.",
  async run({ args, store, config, terminal }) {
    const { tenant, account } = await findAccount(store.db, args.domain!, args.username!);
    // Loaded here, not at the top: only this command needs the session store (and Redis, when configured).
    const { openSessions, accountThrottleKey } = await import('../sessions/index.ts');
    // Store diagnostics go to stderr and only when asked for, so stdout stays the command's answer.
    const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
    const log = createLogger(verbose ? config.logLevel : 'silent', terminal.stderr);
    const sessions = await openSessions({ config, store, log });
    try {
      const key = accountThrottleKey(tenant.id, account.userName);
      const before = await sessions.throttle.state(key);
      await sessions.throttle.reset(key);
      const domain = tenant.domains[0];
      return {
        json: { tenant: domain, user_name: account.userName, was_locked: before.locked, failures: before.failures },
        text: before.locked
          ? `Unlocked ${account.userName} of tenant ${domain}: they may sign in again now.`
          : `${account.userName} of tenant ${domain} was not locked out (${before.failures} recent failed attempt(s) cleared).`,
      };
    } finally {
      await sessions.close();
    }
  },
};

export const managerCommands: Group = {
  name: 'manager',
  summary: "A tenant's managers: add, passwd, disable, enable, unlock",
  commands: [add, passwd, disable, enable, unlock],
};

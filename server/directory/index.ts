export {
  type Account,
  addManager,
  countUsers,
  disableAccount,
  enableAccount,
  findAccount,
  findAccountById,
  findManager,
  findUserForSignIn,
  listManagers,
  setPassword,
  toAccount,
} from './accounts.ts';
export {
  type AddedClient,
  addAppClient,
  addClient,
  type Client,
  type ClientKind,
  ENTRA_REDIRECT_URI,
  findClient,
  hashSecret,
  type IssuedSecret,
  listClients,
  removeClient,
  rotateClientSecret,
  secretMatches,
} from './clients.ts';
export { normaliseDomain } from './domains.ts';
export * from './errors.ts';
export { ARGON2_OPTIONS, checkPasswordStrength, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords.ts';
export {
  addDomain,
  addTenant,
  countTenants,
  findTenantByDomain,
  findTenantById,
  getTenant,
  listTenants,
  removeDomain,
  removeTenant,
  setTenantDisabled,
  type Tenant,
} from './tenants.ts';

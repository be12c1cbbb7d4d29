/** A refusal the operator or user can act on; `message` is one line naming the problem. */
export class DirectoryError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'DirectoryError';
    this.code = code;
  }
}

export class InvalidDomain extends DirectoryError {
  constructor(input: string, why: string) {
    super('invalid_domain', `"${input}" is not a valid domain: ${why}`);
  }
}
export class UnknownDomain extends DirectoryError {
  constructor(domain: string) {
    super('unknown_domain', `no tenant has the domain ${domain}`);
  }
}
export class DomainTaken extends DirectoryError {
  constructor(domain: string) {
    super('domain_taken', `the domain ${domain} is already registered`);
  }
}
export class LastDomain extends DirectoryError {
  constructor(domain: string) {
    super('last_domain', `${domain} is its tenant's only domain; remove the tenant instead`);
  }
}
export class InvalidName extends DirectoryError {
  constructor(what: string, why: string) {
    super('invalid_name', `${what} ${why}`);
  }
}
export class WeakPassword extends DirectoryError {
  constructor(why: string) {
    super('weak_password', `password refused: ${why}`);
  }
}
export class UnknownUser extends DirectoryError {
  constructor(username: string, domain: string) {
    super('unknown_user', `no user ${username} in tenant ${domain}`);
  }
}
export class NotAManager extends DirectoryError {
  constructor(username: string, domain: string) {
    super('not_a_manager', `${username} is a user of tenant ${domain} but not a manager`);
  }
}
export class AlreadyManager extends DirectoryError {
  constructor(username: string, domain: string) {
    super('already_manager', `${username} is already a manager of tenant ${domain}`);
  }
}
export class InvalidClient extends DirectoryError {
  constructor(why: string) {
    super('invalid_client', why);
  }
}
export class UnknownClient extends DirectoryError {
  constructor(clientId: string) {
    super('unknown_client', `no client with id ${clientId}`);
  }
}
export class InvalidRedirectUri extends DirectoryError {
  constructor(uri: string, why: string) {
    super('invalid_redirect_uri', `redirect URI "${uri}" refused: ${why}`);
  }
}

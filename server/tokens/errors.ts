import { DirectoryError } from '../directory/index.ts';

export class UnknownScimToken extends DirectoryError {
  constructor(id: string) {
    super('unknown_token', `no SCIM token ${id}; see securelogin token list <domain>`);
  }
}

export class InvalidTokenLifetime extends DirectoryError {
  constructor() {
    super('invalid_token_lifetime', 'a SCIM token must last a while: give a duration such as 1y');
  }
}

/**
 * SCIM errors, named after RFC 7644 §3.12 `scimType`s (and, for errors that
 * have none, after the HTTP status). Thrown wherever the problem is found and
 * rendered in one place (render.ts). `detail` is shown to the client, so it
 * names what was wrong in the request and never anything internal.
 */
export class ScimError extends Error {
  readonly status: number;
  readonly scimType: string | undefined;
  /** Response headers that belong to this error (Allow on 405, WWW-Authenticate on 401). */
  readonly headers: Record<string, string>;
  constructor(status: number, scimType: string | undefined, detail: string, headers: Record<string, string> = {}) {
    super(detail);
    this.name = new.target.name;
    this.status = status;
    this.scimType = scimType;
    this.headers = headers;
  }
}

/** The filter does not parse, or compares an attribute in a way that is not supported. */
export class InvalidFilter extends ScimError {
  constructor(detail: string) {
    super(400, 'invalidFilter', detail);
  }
}

/** The body is not JSON, or not the message the endpoint expects. */
export class InvalidSyntax extends ScimError {
  constructor(detail: string) {
    super(400, 'invalidSyntax', detail);
  }
}

/** A PATCH path that does not parse or cannot address anything in this resource type. */
export class InvalidPath extends ScimError {
  constructor(detail: string) {
    super(400, 'invalidPath', detail);
  }
}

/** A PATCH that names no target (remove without path) or whose value filter selects nothing to replace. */
export class NoTarget extends ScimError {
  constructor(detail: string) {
    super(400, 'noTarget', detail);
  }
}

/** A value of the wrong type, a missing required value, or a reference to something that does not exist. */
export class InvalidValue extends ScimError {
  constructor(detail: string) {
    super(400, 'invalidValue', detail);
  }
}

/** An attempt to change what may not be changed (id, meta, groups, required attributes, the password). */
export class Mutability extends ScimError {
  constructor(detail: string) {
    super(400, 'mutability', detail);
  }
}

/** A userName or group displayName already in use in this tenant. */
export class Uniqueness extends ScimError {
  constructor(detail: string) {
    super(409, 'uniqueness', detail);
  }
}

/** More results than the service provider is willing to produce in one response. */
export class TooMany extends ScimError {
  constructor(detail: string) {
    super(400, 'tooMany', detail);
  }
}

/** Secret values in a request URI (a filter on password). RFC 7644 gives this one 403. */
export class Sensitive extends ScimError {
  constructor(detail: string) {
    super(403, 'sensitive', detail);
  }
}

export class NotFound extends ScimError {
  constructor(detail: string) {
    super(404, undefined, detail);
  }
}

export class MethodNotAllowed extends ScimError {
  constructor(method: string, allowed: string[]) {
    super(405, undefined, `${method} is not supported here; use ${allowed.join(', ')}`, { Allow: allowed.join(', ') });
  }
}

/** RFC 7644 §4: discovery endpoints answer a filter with 403 so nobody assumes it was applied. */
export class Forbidden extends ScimError {
  constructor(detail: string) {
    super(403, undefined, detail);
  }
}

/** An If-Match that names another version than the stored one (RFC 7644 §3.14). */
export class PreconditionFailed extends ScimError {
  constructor(detail: string) {
    super(412, undefined, detail);
  }
}

export class PayloadTooLarge extends ScimError {
  constructor(limit: number) {
    super(413, undefined, `the request body is larger than ${limit} bytes`);
  }
}

export class UnsupportedMediaType extends ScimError {
  constructor(type: string) {
    super(415, undefined, `send the body as application/scim+json or application/json, not ${type}`);
  }
}

/** Bulk and /Me: RFC 7644 says a service provider without them answers 501. */
export class NotImplemented extends ScimError {
  constructor(detail: string) {
    super(501, undefined, detail);
  }
}

/**
 * The directory or the token store does not answer. 503 with Retry-After, so
 * Entra retries later; never 401, which would make it quarantine the job as
 * if its credentials were wrong.
 */
export class ServiceUnavailable extends ScimError {
  constructor(retryAfterSeconds: number) {
    super(503, undefined, 'the service is temporarily unavailable; retry after the number of seconds in Retry-After', {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}

/** No valid bearer token; the challenge from the token middleware travels in WWW-Authenticate. */
export class Unauthorized extends ScimError {
  constructor(status: 401 | 403, detail: string, challenge: string) {
    super(status, undefined, detail, { 'WWW-Authenticate': challenge });
  }
}

import type { components } from "./openapi.js";

/**
 * Every code the server answers a failure with (`invalidCredentials`, `emailTaken`, ...): read from
 * its OpenAPI document (src/openapi.ts, generated), so a new code on the server is a type here.
 */
export type ServerErrorCode = components["schemas"]["Error"]["code"];

/** Codes the client gives to failures that have no answer from the server behind them. */
export type ClientErrorCode = "networkError" | "timeout" | "aborted" | "badResponse" | "notSignedIn" | "sessionChanged";

/**
 * A failure's code: one of the server's, one of the client's, or, from `auth.fetch` on the app's
 * own API, whatever string that API sent (`string & {}` keeps the known ones for completion).
 */
export type ErrorCode = ServerErrorCode | ClientErrorCode | (string & {});

/** What the server said was wrong with one field: field name to its messages. */
export type FieldErrors = Record<string, string[]>;

export interface AuthErrorInit {
  status: number;
  message: string;
  code?: ErrorCode;
  errors?: FieldErrors;
  retryAfter?: number;
  mfaToken?: string | undefined;
  cause?: unknown;
}

/**
 * Every failure of a client call: the server's envelope (`status`, `code`, `message`, `errors`),
 * or one of the client's own codes with `status` 0 when no answer came back.
 */
export class AuthError extends Error {
  /** The HTTP status, or 0 when the server did not answer. */
  readonly status: number;
  /** The server's `code` (`invalidToken`, `refreshExpired`, `rateLimited`, ...) or a `ClientErrorCode`. */
  readonly code: ErrorCode | undefined;
  /** Validation failures: field name to its messages. */
  readonly errors: FieldErrors | undefined;
  /** Seconds to wait, from `Retry-After`, on a `429`. */
  readonly retryAfter: number | undefined;
  /**
   * With `mfaRequired` (a sign-in held for a second factor): the token to finish it with,
   * `mfaVerify({ mfaToken, code })`. `authenticate` turns this failure into a result.
   */
  readonly mfaToken: string | undefined;

  constructor(init: AuthErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "AuthError";
    this.status = init.status;
    this.code = init.code;
    this.errors = init.errors;
    this.retryAfter = init.retryAfter;
    this.mfaToken = init.mfaToken;
  }

  /** True when the session is over and the user must sign in again. */
  get sessionEnded(): boolean {
    return this.code === "refreshExpired" || this.code === "accountDisabled" || this.code === "notSignedIn";
  }

  /** True when no answer came back (offline, server down, timeout): worth trying again later. */
  get offline(): boolean {
    return this.code === "networkError" || this.code === "timeout";
  }

  /**
   * True when the call was made in a session that is no longer the client's (a sign-out, or a
   * sign-in, happened while it waited): it was not sent, or not sent again, with the new tokens.
   */
  get sessionChanged(): boolean {
    return this.code === "sessionChanged";
  }
}

export function notSignedIn(message = "Not signed in."): AuthError {
  return new AuthError({ status: 0, code: "notSignedIn", message });
}

export function sessionChanged(): AuthError {
  return new AuthError({
    status: 0,
    code: "sessionChanged",
    message: "Signed out or signed in again while the call was waiting: it was not sent with the new session.",
  });
}

/**
 * Every route of the server, one declarative entry each, and the types of their bodies and
 * answers, all read from the server's OpenAPI document (src/openapi.ts, generated). A route
 * the document does not have types as `never`, and test/types/routes.ts fails to compile.
 */
import type { components, paths } from "./openapi.js";
import type {
  AuthenticationResponseJSON,
  PasskeyProof,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "./webauthn.js";

type Schemas = components["schemas"];
export type User = Schemas["UserWithRole"];
export type Session = Schemas["Session"];
export type Activity = Schemas["Activity"];
export type Provider = NonNullable<Schemas["IdTokenLogin"]["provider"]>;
export type Passkey = Schemas["Passkey"];

/**
 * What a route does to the client's own state once it succeeds: `user` takes the answer's user;
 * `emailVerified` and `sessionsEnded` apply when the body's `email` is the signed-in user's (the
 * address is now verified; every session of the account, this one included, has ended). An
 * `emailVerified` answer with `passwordRemoved: true` ended every session too: it signs out.
 * `accessToken`: the answer's `authToken` is a new access token of the same session (a second
 * factor proved: `aal` 2), kept in place of the current one.
 */
export type Effect = "signIn" | "signOut" | "user" | "emailVerified" | "sessionsEnded" | "accessToken";

export interface Route {
  readonly method: "GET" | "POST" | "PATCH" | "DELETE";
  /**
   * The path as the OpenAPI document spells it; `{name}` is the route's one positional argument
   * (followed by the body, for a route that takes one).
   */
  readonly path: string;
  /**
   * Whether the call carries the access token: `true`, always (refreshed ahead and retried once,
   * failing with `notSignedIn` without a session); `"optional"`, the one the client holds, if
   * any, as it is (never refreshed nor retried for it; without one the call goes without);
   * `false`, never.
   */
  readonly bearer: boolean | "optional";
  readonly body?: true;
  readonly query?: true;
  readonly then?: Effect;
}

export const routes = {
  signup: { method: "POST", path: "/api/auth/signup", bearer: false, body: true },
  login: { method: "POST", path: "/api/auth/login", bearer: false, body: true, then: "signIn" },
  getAll: { method: "GET", path: "/api/auth/getAll", bearer: true, query: true },
  me: { method: "GET", path: "/api/auth/me", bearer: true, then: "user" },
  updateMe: { method: "PATCH", path: "/api/auth/me", bearer: true, body: true, then: "user" },
  logoutAll: { method: "POST", path: "/api/auth/logoutAll", bearer: true, then: "signOut" },
  sessions: { method: "GET", path: "/api/auth/sessions", bearer: true },
  endSession: { method: "DELETE", path: "/api/auth/sessions/{session_id}", bearer: true },
  changePassword: { method: "POST", path: "/api/auth/changePassword", bearer: true, body: true },
  activity: { method: "GET", path: "/api/auth/activity", bearer: true, query: true },
  forgotPassword: { method: "POST", path: "/api/auth/forgotPassword", bearer: false, body: true },
  resetPassword: { method: "POST", path: "/api/auth/resetPassword", bearer: false, body: true, then: "sessionsEnded" },
  verifyEmail: { method: "POST", path: "/api/auth/verifyEmail", bearer: "optional", body: true, then: "emailVerified" },
  resendVerification: { method: "POST", path: "/api/auth/resendVerification", bearer: false, body: true },
  changeEmail: { method: "POST", path: "/api/auth/changeEmail", bearer: true, body: true },
  confirmEmailChange: { method: "POST", path: "/api/auth/confirmEmailChange", bearer: true, body: true, then: "user" },
  deleteAccount: { method: "POST", path: "/api/auth/deleteAccount", bearer: true, body: true, then: "signOut" },
  loginWithIdToken: { method: "POST", path: "/api/auth/loginWithIdToken", bearer: false, body: true, then: "signIn" },
  linkIdToken: { method: "POST", path: "/api/auth/linkIdToken", bearer: true, body: true },
  identities: { method: "GET", path: "/api/auth/identities", bearer: true },
  unlinkIdentity: { method: "DELETE", path: "/api/auth/identities/{provider}", bearer: true },
  health: { method: "GET", path: "/health", bearer: false },
  ready: { method: "GET", path: "/ready", bearer: false },
  jwks: { method: "GET", path: "/.well-known/jwks.json", bearer: false },
  // Second factor (TOTP and recovery codes)
  mfaStatus: { method: "GET", path: "/api/auth/mfa", bearer: true },
  totpSetup: { method: "POST", path: "/api/auth/mfa/totp/setup", bearer: true, body: true },
  totpEnable: { method: "POST", path: "/api/auth/mfa/totp/enable", bearer: true, body: true, then: "accessToken" },
  mfaVerify: { method: "POST", path: "/api/auth/mfa/verify", bearer: false, body: true, then: "signIn" },
  mfaStepUp: { method: "POST", path: "/api/auth/mfa/stepUp", bearer: true, body: true, then: "accessToken" },
  recoveryCodes: { method: "POST", path: "/api/auth/mfa/recoveryCodes", bearer: true, body: true },
  totpDisable: { method: "POST", path: "/api/auth/mfa/totp/disable", bearer: true, body: true },
  // Passkeys
  registrationOptions: { method: "POST", path: "/api/auth/passkeys/registrationOptions", bearer: true, body: true },
  registerPasskey: { method: "POST", path: "/api/auth/passkeys/register", bearer: true, body: true },
  /** For signing in: sent without a token, whoever is signed in (its challenge names no account). */
  authenticationOptions: { method: "POST", path: "/api/auth/passkeys/authenticationOptions", bearer: false },
  /** The same route with the bearer token: a challenge bound to this user and session, for a `passkey` proof. */
  passkeyProofOptions: { method: "POST", path: "/api/auth/passkeys/authenticationOptions", bearer: true },
  passkeyLogin: { method: "POST", path: "/api/auth/passkeys/login", bearer: false, body: true, then: "signIn" },
  listPasskeys: { method: "GET", path: "/api/auth/passkeys", bearer: true },
  renamePasskey: { method: "PATCH", path: "/api/auth/passkeys/{passkey_id}", bearer: true, body: true },
  deletePasskey: { method: "DELETE", path: "/api/auth/passkeys/{passkey_id}", bearer: true, body: true },
} as const satisfies Record<string, Route>;

/** Used by the client itself, not methods of their own: `refresh()` and `logout()` wrap them. */
export const sessionRoutes = {
  refreshToken: { method: "POST", path: "/api/auth/refreshToken", bearer: false, body: true },
  logout: { method: "POST", path: "/api/auth/logout", bearer: false, body: true, then: "signOut" },
} as const satisfies Record<string, Route>;

export type RouteName = keyof typeof routes;

type Lower<M extends string> = Lowercase<M> & keyof paths[keyof paths];
type Operation<R extends Route> = R["path"] extends keyof paths
  ? NonNullable<paths[R["path"]][Lower<R["method"]>]>
  : never;
/** The routes of the table that the document has: all of them (checked in test/types/routes.ts). */
export type DocumentedRoute = { [K in RouteName]: [Operation<(typeof routes)[K]>] extends [never] ? never : K }[RouteName];

type JsonOf<T> = T extends { content: { "application/json": infer J } } ? J : never;
type DocumentedBody<O> = O extends { requestBody: infer B } ? JsonOf<NonNullable<B>> : never;
type DocumentedAnswer<O> = O extends { responses: infer R }
  ? 200 extends keyof R
    ? JsonOf<R[200]>
    : 201 extends keyof R
      ? JsonOf<R[201]>
      : never
  : never;
type DocumentedQuery<O> = O extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

type Spec<K extends RouteName> = (typeof routes)[K];

/** A body's `passkey` proof, which the document types loosely, as the WebAuthn JSON it is. */
type WithPasskeyProof<B> = [B] extends [never]
  ? never
  : "passkey" extends keyof B
    ? { [F in keyof B]: F extends "passkey" ? PasskeyProof | null : B[F] }
    : B;

/** The ceremony answer of an options route, its `options` typed as WebAuthn's JSON form. */
export type CeremonyAnswer<O> = Omit<Schemas["CeremonyResponse"], "options"> & { options: O };

/**
 * The WebAuthn routes, whose options and credentials the document types as any JSON object:
 * typed here as the JSON forms React Native passkey modules take and return.
 */
interface WebAuthnTypes {
  registrationOptions: { answer: CeremonyAnswer<PublicKeyCredentialCreationOptionsJSON> };
  registerPasskey: { body: Omit<Schemas["RegisterPasskey"], "credential"> & { credential: RegistrationResponseJSON } };
  authenticationOptions: { answer: CeremonyAnswer<PublicKeyCredentialRequestOptionsJSON> };
  passkeyProofOptions: { answer: CeremonyAnswer<PublicKeyCredentialRequestOptionsJSON> };
  passkeyLogin: { body: Omit<Schemas["PasskeyAssertion"], "credential"> & { credential: AuthenticationResponseJSON } };
}

/** The JSON body a route takes. */
export type BodyOf<K extends RouteName> = K extends keyof WebAuthnTypes
  ? WebAuthnTypes[K] extends { body: infer B }
    ? B
    : WithPasskeyProof<DocumentedBody<Operation<Spec<K>>>>
  : WithPasskeyProof<DocumentedBody<Operation<Spec<K>>>>;
/** The JSON a route answers with on success. */
export type AnswerOf<K extends RouteName> = K extends keyof WebAuthnTypes
  ? WebAuthnTypes[K] extends { answer: infer A }
    ? A
    : DocumentedAnswer<Operation<Spec<K>>>
  : DocumentedAnswer<Operation<Spec<K>>>;
/** The query parameters a route takes. */
export type QueryOf<K extends RouteName> = DocumentedQuery<Operation<Spec<K>>>;

/** Per call: abort it with your own signal. */
export interface CallOptions {
  signal?: AbortSignal;
}

type ArgumentsOf<K extends RouteName> = Spec<K>["path"] extends `${string}{${string}}`
  ? Spec<K> extends { body: true }
    ? [argument: string, body: BodyOf<K>, options?: CallOptions]
    : [argument: string, options?: CallOptions]
  : Spec<K> extends { body: true }
    ? [body: BodyOf<K>, options?: CallOptions]
    : Spec<K> extends { query: true }
      ? [query?: QueryOf<K>, options?: CallOptions]
      : [options?: CallOptions];

/** One method per entry of `routes`, typed from the document. */
export type RouteMethods = {
  [K in RouteName]: (...args: ArgumentsOf<K>) => Promise<AnswerOf<K>>;
};

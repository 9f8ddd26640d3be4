/**
 * The client: one per app. It keeps the tokens in a storage adapter, adds the bearer header,
 * refreshes the access token once however many calls are waiting for it, retries each call
 * once (and only within the session it was made in), and ends the session only when the server
 * says it is over.
 */
import { readTokenClaims } from "./claims.js";
import { AuthError, notSignedIn, sessionChanged } from "./errors.js";
import {
  type AnswerOf,
  type BodyOf,
  type CallOptions,
  type Route,
  type RouteMethods,
  type RouteName,
  type User,
  routes,
  sessionRoutes,
} from "./routes.js";
import { type TokenStorage, memoryStorage } from "./storage.js";

export interface AuthClientOptions {
  /** The server root, e.g. `https://auth.example.com` (no `/api/auth`). */
  baseUrl: string;
  /** Where the tokens are kept; in memory when not given (signed out at every app start). */
  storage?: TokenStorage;
  /** Prefix of the two storage keys (`<prefix>authToken`, `<prefix>refreshToken`); default `auth.`. */
  storageKeyPrefix?: string;
  /** The `fetch` to use; the global one when not given. */
  fetch?: typeof fetch;
  /** Refresh ahead when the access token expires within this many seconds (at most half its life); default 30. */
  refreshMargin?: number;
  /** Give up on a call after this many milliseconds (0: never); default 30000. */
  timeout?: number;
  /** Headers added to every call to the auth server (an app version, say). */
  headers?: Record<string, string>;
  /** Called once when the session ends without the user asking: refresh token expired, revoked or refused. */
  onSessionExpired?: (error: AuthError) => void;
}

export type AuthStatus = "loading" | "signedIn" | "signedOut";

/** What the app shows: whether someone is signed in, and who (null until the server has said). */
export interface AuthState {
  readonly status: AuthStatus;
  readonly user: User | null;
}

/** A sign-in that opened a session: the login body, tokens stored. */
export type SignedIn<K extends "login" | "loginWithIdToken" | "mfaVerify" | "passkeyLogin" = "login"> = AnswerOf<K> & {
  status: "signedIn";
};

/**
 * A sign-in held for a second factor (TOTP on): no session yet. Ask for the code from the
 * authenticator app (or a recovery code) and finish with `mfaVerify({ mfaToken, code })` within
 * 5 minutes.
 */
export interface MfaRequired {
  status: "mfaRequired";
  /** Single use, 5 minutes: for `mfaVerify`. */
  mfaToken: string;
  /** The server's words ("Enter the code from your authenticator app."). */
  message: string;
}

/** What `authenticate` and `authenticateWithIdToken` resolve to: a session, or a second factor to ask for. */
export type SignInResult<K extends "login" | "loginWithIdToken" = "login"> = SignedIn<K> | MfaRequired;

interface Tokens {
  authToken: string | null;
  refreshToken: string | null;
}

interface Outgoing {
  body?: unknown;
  query?: Record<string, unknown> | undefined;
  argument?: string;
  token?: string;
  signal?: AbortSignal | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_REFRESH_MARGIN_S = 30;
const CLOCK_SKEW_TOLERANCE_S = 5;

export interface AuthClient extends RouteMethods {}

export class AuthClient {
  private readonly baseUrl: string;
  private readonly storage: TokenStorage;
  private readonly keys: { authToken: string; refreshToken: string };
  private readonly fetchImpl: typeof fetch;
  private readonly refreshMargin: number;
  private readonly timeout: number;
  private readonly headers: Record<string, string>;
  private readonly onSessionExpired: ((error: AuthError) => void) | undefined;

  private tokens: Tokens | null = null;
  private loading: Promise<Tokens> | null = null;
  /** The refresh under way, and the session it refreshes: every caller of that session shares it. */
  private refreshing: { generation: number; promise: Promise<string> } | null = null;
  private writes: Promise<void> = Promise.resolve();
  /**
   * The session: bumped at every sign-in and sign-out. A call belongs to the session it was made
   * in and is sent (or sent again after a refresh) only while that is still the client's; a
   * refresh that outlived its session stores nothing.
   */
  private generation = 0;
  /** Server clock minus device clock, in seconds, learnt from the `iat` of the latest token. */
  private clockOffset = 0;
  private expiryReported = false;
  private state: AuthState = { status: "loading", user: null };
  private readonly listeners = new Set<(state: AuthState) => void>();

  constructor(options: AuthClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.storage = options.storage ?? memoryStorage();
    const prefix = options.storageKeyPrefix ?? "auth.";
    this.keys = { authToken: `${prefix}authToken`, refreshToken: `${prefix}refreshToken` };
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") throw new TypeError("No fetch: pass options.fetch.");
    // Not stored as is: called as a method of the client, a browser's fetch throws "Illegal invocation".
    this.fetchImpl = (input, init) => fetchImpl(input, init);
    this.refreshMargin = options.refreshMargin ?? DEFAULT_REFRESH_MARGIN_S;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    this.headers = options.headers ?? {};
    this.onSessionExpired = options.onSessionExpired;
  }

  // State for the UI

  /** The current state; the same object until it changes. */
  getState = (): AuthState => this.state;

  /** Be told of every change of state; returns the function that stops it. */
  subscribe = (listener: (state: AuthState) => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Read the stored tokens (once) and say whether someone is signed in. */
  async restore(): Promise<AuthState> {
    await this.loadTokens();
    return this.state;
  }

  // Tokens

  /** A valid access token, refreshed first if it expires within the margin (for sockets, uploads...). */
  async getAccessToken(): Promise<string> {
    const tokens = await this.loadTokens();
    const { authToken, refreshToken } = tokens;
    if (authToken && !this.expiresSoon(authToken)) return authToken;
    if (!refreshToken) {
      if (authToken) return authToken;
      throw notSignedIn();
    }
    try {
      return await this.refresh();
    } catch (error) {
      // Refreshing ahead failed for a passing reason: the current token may still do.
      if (authToken && isPassing(error) && !this.expired(authToken)) return authToken;
      throw error;
    }
  }

  /**
   * Trade the refresh token for a new access token now; every caller meanwhile shares this one
   * refresh. Rejects with `sessionChanged` when a sign-out or a sign-in comes before its answer.
   */
  refresh(): Promise<string> {
    const generation = this.generation;
    // A refresh of an earlier session (still waiting for its answer) is not this session's.
    if (this.refreshing?.generation === generation) return this.refreshing.promise;
    const promise: Promise<string> = this.runRefresh(generation).finally(() => {
      if (this.refreshing?.promise === promise) this.refreshing = null;
    });
    this.refreshing = { generation, promise };
    return promise;
  }

  /** End this device's session at the server and forget the tokens (forgotten even when the call fails). */
  async logout(options?: CallOptions): Promise<void> {
    this.generation += 1; // from here on, a refresh in flight stores nothing
    const { refreshToken } = await this.loadTokens();
    try {
      if (refreshToken) await this.send(sessionRoutes.logout, { body: { refreshToken }, signal: options?.signal });
    } finally {
      await this.forgetSession();
    }
  }

  /**
   * `fetch` for the app's own API servers, which verify the same tokens: adds the bearer header,
   * refreshes ahead of expiry, and on a `401` (or a `403` with `code: "invalidToken"`) refreshes
   * and sends the request once more, if the session it was sent in is still the client's.
   * Resolves to the `Response` like `fetch`; rejects with an `AuthError` when there is no session
   * to call with, or (`sessionChanged`) when the session changed before it could be sent again.
   */
  async fetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const generation = this.generation;
    const isRequest = typeof Request !== "undefined" && input instanceof Request;
    const send = (token: string): Promise<Response> => {
      const request = isRequest ? input.clone() : input;
      const headers = new Headers(init.headers ?? (isRequest ? input.headers : undefined));
      headers.set("Authorization", `Bearer ${token}`);
      return this.fetchImpl(request, { ...init, headers });
    };
    const token = await this.tokenFor(generation);
    const response = await send(token);
    if (!canResend(init.body) || !(await rejectsToken(response))) return response;
    return send(await this.tokenAfterRejection(token, generation));
  }

  // Sign-in with a second factor

  /**
   * `login`, with a second factor in mind: resolves to `{ status: "signedIn", ...the login body }`
   * (tokens stored), or, when the account has TOTP on, to `{ status: "mfaRequired", mfaToken,
   * message }` (no session yet: finish with `mfaVerify`). Other failures reject with an `AuthError`.
   * (`login` itself keeps resolving to the session only: with TOTP on it rejects with the
   * `mfaRequired` `AuthError`, whose `mfaToken` is set.)
   */
  authenticate(body: BodyOf<"login">, options?: CallOptions): Promise<SignInResult<"login">> {
    return signInResult(this.call("login", body, options));
  }

  /** `loginWithIdToken`, with a second factor in mind: as `authenticate`. */
  authenticateWithIdToken(body: BodyOf<"loginWithIdToken">, options?: CallOptions): Promise<SignInResult<"loginWithIdToken">> {
    return signInResult(this.call("loginWithIdToken", body, options));
  }

  // Calls

  /** Call one route of the table; the generated methods (`login`, `me`, ...) come here. */
  async call<K extends RouteName>(name: K, ...args: unknown[]): Promise<AnswerOf<K>> {
    const route: Route = routes[name];
    const request = requestOf(route, args);
    const generation = this.generation; // the session this call belongs to
    const { authToken } = await this.loadTokens(); // so that the state is known whatever the first call is
    const answer =
      route.bearer === true
        ? await this.authorized(generation, (token) => this.send(route, { ...request, token }))
        : await this.send(route, route.bearer === "optional" && authToken ? { ...request, token: authToken } : request);
    // What the answer says of the session it was sent in (its user, its end) is not applied to a
    // later one: Alice's `me()` answered after Bob signed in does not make her the state's user,
    // nor does her `logoutAll()` sign Bob out. The call still resolves: the server did it.
    const stale = generation !== this.generation && (route.then === "user" || route.then === "signOut" || route.then === "accessToken");
    if (!stale) await this.apply(route, answer, request.body);
    return answer as AnswerOf<K>;
  }

  /** Send a bearer call of session `generation`, and once more after an `invalidToken`, in that session only. */
  private async authorized(
    generation: number,
    send: (token: string) => Promise<Record<string, unknown>>,
  ): Promise<Record<string, unknown>> {
    const token = await this.tokenFor(generation);
    try {
      return await send(token);
    } catch (error) {
      if (!(error instanceof AuthError) || error.code !== "invalidToken") throw error;
      return send(await this.tokenAfterRejection(token, generation)); // once: a second refusal goes to the caller
    }
  }

  /** An access token for a call of session `generation`; `sessionChanged` if that session ended while it waited. */
  private async tokenFor(generation: number): Promise<string> {
    if (generation !== this.generation) throw sessionChanged();
    const token = await this.getAccessToken();
    if (generation !== this.generation) throw sessionChanged();
    return token;
  }

  /**
   * The token to retry with after the server refused `rejected`: a newer one of the same session,
   * or one refresh for all its calls. A call of a session that is no longer the client's (signed
   * out, or someone signed in, while it was on its way or while the refresh ran) is not sent
   * again with the new session's token: `sessionChanged`.
   */
  private async tokenAfterRejection(rejected: string, generation: number): Promise<string> {
    if (generation !== this.generation) throw sessionChanged();
    const current = this.tokens?.authToken;
    if (current && current !== rejected && this.refreshing?.generation !== generation) return current;
    const token = await this.refresh();
    if (generation !== this.generation) throw sessionChanged();
    return token;
  }

  private async apply(route: Route, answer: Record<string, unknown>, body: unknown): Promise<void> {
    if (route.then === "signIn") await this.keepSession(answer);
    else if (route.then === "accessToken") await this.keepAccessToken(answer);
    else if (route.then === "signOut") await this.forgetSession();
    else if (route.then === "user" && isObject(answer["user"])) this.setState({ user: answer["user"] as User });
    else if (route.then === "emailVerified" && this.isSignedInAs(body)) {
      // Verified without a proof of holding the account: the password is gone and every session ended.
      if (answer["passwordRemoved"] === true) await this.forgetSession(); // asked for: no onSessionExpired
      else this.setState({ user: { ...this.state.user, emailVerified: true } });
    }
    else if (route.then === "sessionsEnded" && this.isSignedInAs(body)) await this.forgetSession(); // asked for: no onSessionExpired
  }

  /** Whether a body's `email` is the signed-in user's (as the server compares addresses: trimmed, any case). */
  private isSignedInAs(body: unknown): boolean {
    const email = isObject(body) ? body["email"] : undefined;
    const current = this.state.status === "signedIn" ? this.state.user?.email : undefined;
    return typeof email === "string" && typeof current === "string" && normalEmail(email) === normalEmail(current);
  }

  /** Send one request and read the envelope; every failure becomes an `AuthError`. */
  private async send(route: Route, request: Outgoing): Promise<Record<string, unknown>> {
    const url = this.urlOf(route, request);
    const headers: Record<string, string> = { Accept: "application/json", ...this.headers };
    if (request.body !== undefined) headers["Content-Type"] = "application/json";
    if (request.token) headers["Authorization"] = `Bearer ${request.token}`;
    const deadline = new Deadline(this.timeout, request.signal);
    try {
      const response = await this.fetchImpl(url, {
        method: route.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: deadline.signal,
      });
      return readEnvelope(response, await response.text());
    } catch (error) {
      throw deadline.explain(error);
    } finally {
      deadline.clear();
    }
  }

  private urlOf(route: Route, request: Outgoing): string {
    let path = route.path.replace(/\{[^}]+\}/, () => encodeURIComponent(request.argument ?? ""));
    const pairs = Object.entries(request.query ?? {}).filter(([, value]) => value !== undefined && value !== null);
    if (pairs.length) path += "?" + pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join("&");
    return this.baseUrl + path;
  }

  // The session

  private async runRefresh(generation: number): Promise<string> {
    // Read from storage, not memory: another instance (a background task) may have rotated it.
    await this.writes;
    // Signed out, or someone signed in, meanwhile: storage holds the next session's refresh
    // token (or none), which is not this refresh's to present.
    if (generation !== this.generation) throw sessionChanged();
    const stored = await this.storage.get(this.keys.refreshToken);
    if (generation !== this.generation) throw sessionChanged();
    const refreshToken = stored ?? this.tokens?.refreshToken;
    if (!refreshToken) throw notSignedIn();
    let answer: Record<string, unknown>;
    try {
      answer = await this.send(sessionRoutes.refreshToken, { body: { refreshToken } });
    } catch (error) {
      // The answer of a session that is over already (logout() revokes its refresh token) says nothing of the current one.
      if (generation !== this.generation) throw sessionChanged();
      if (error instanceof AuthError && error.sessionEnded) await this.endExpiredSession(error);
      throw error;
    }
    if (generation !== this.generation) throw sessionChanged();
    const authToken = String(answer["authToken"]);
    const rotated = typeof answer["refreshToken"] === "string" ? answer["refreshToken"] : null;
    this.tokens = { authToken, refreshToken: rotated ?? refreshToken };
    this.learnClock(authToken);
    // With rotation the new refresh token is stored before any waiting call goes on. An answer
    // without one (rotation off, or a retired token within its grace period) keeps the stored one.
    await this.persist(async () => {
      if (rotated) await this.storage.set(this.keys.refreshToken, rotated);
      await this.storage.set(this.keys.authToken, authToken);
    });
    return authToken;
  }

  private async keepSession(answer: Record<string, unknown>): Promise<void> {
    const authToken = String(answer["authToken"]);
    const refreshToken = String(answer["refreshToken"]);
    this.generation += 1;
    this.tokens = { authToken, refreshToken };
    this.learnClock(authToken);
    this.expiryReported = false;
    await this.persist(async () => {
      await this.storage.set(this.keys.refreshToken, refreshToken);
      await this.storage.set(this.keys.authToken, authToken);
    });
    this.setState({ status: "signedIn", user: isObject(answer["user"]) ? (answer["user"] as User) : null });
  }

  /** A new access token of the current session (a second factor proved), kept in place of the old one. */
  private async keepAccessToken(answer: Record<string, unknown>): Promise<void> {
    if (typeof answer["authToken"] !== "string" || !this.tokens?.refreshToken) return;
    const authToken = answer["authToken"];
    this.tokens = { ...this.tokens, authToken };
    this.learnClock(authToken);
    await this.persist(async () => {
      await this.storage.set(this.keys.authToken, authToken);
    });
  }

  private async forgetSession(): Promise<void> {
    this.generation += 1;
    this.tokens = { authToken: null, refreshToken: null };
    this.setState({ status: "signedOut", user: null });
    await this.persist(async () => {
      await this.storage.remove(this.keys.authToken);
      await this.storage.remove(this.keys.refreshToken);
    });
  }

  /** Run storage writes in the order they were decided: a refresh's write never lands after a sign-out's removal. */
  private persist(write: () => Promise<void>): Promise<void> {
    const done = this.writes.then(write);
    this.writes = done.catch(() => undefined);
    return done;
  }

  private async endExpiredSession(error: AuthError): Promise<void> {
    await this.forgetSession();
    if (this.expiryReported) return;
    this.expiryReported = true;
    try {
      this.onSessionExpired?.(error);
    } catch (thrown) {
      // The app's callback failing must not change what the waiting calls are told.
      setTimeout(() => {
        throw thrown;
      });
    }
  }

  private loadTokens(): Promise<Tokens> {
    if (this.tokens) return Promise.resolve(this.tokens);
    this.loading ??= (async () => {
      const [authToken, refreshToken] = await Promise.all([
        this.storage.get(this.keys.authToken),
        this.storage.get(this.keys.refreshToken),
      ]);
      // A sign-in or sign-out while storage was being read wins over what was read.
      this.tokens ??= { authToken: authToken ?? null, refreshToken: refreshToken ?? null };
      if (this.state.status === "loading") {
        this.setState({ status: this.tokens.refreshToken || this.tokens.authToken ? "signedIn" : "signedOut" });
      }
      return this.tokens;
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  // Time

  /** Learn how wrong the device's clock is, so that a clock set ahead does not refresh at every call. */
  private learnClock(authToken: string): void {
    const issuedAt = readTokenClaims(authToken)?.iat;
    if (typeof issuedAt !== "number") return;
    // `iat` is in whole seconds and a little old on arrival: differences that small are not skew.
    const offset = issuedAt - Date.now() / 1000;
    this.clockOffset = Math.abs(offset) > CLOCK_SKEW_TOLERANCE_S ? offset : 0;
  }

  private serverNow(): number {
    return Date.now() / 1000 + this.clockOffset;
  }

  private expiresSoon(token: string): boolean {
    const claims = readTokenClaims(token);
    if (typeof claims?.exp !== "number") return false; // unknown: let the server say
    const life = typeof claims.iat === "number" ? claims.exp - claims.iat : Infinity;
    return this.serverNow() >= claims.exp - Math.min(this.refreshMargin, life / 2);
  }

  private expired(token: string): boolean {
    const exp = readTokenClaims(token)?.exp;
    return typeof exp === "number" && this.serverNow() >= exp;
  }

  /** Change the state and tell the listeners, only when something in it changed: a `me()` that brings the same user back renders nothing. */
  private setState(change: Partial<AuthState>): void {
    const proposed = change.user === undefined ? this.state.user : change.user;
    const user = sameJson(proposed, this.state.user) ? this.state.user : proposed;
    const next = { status: change.status ?? this.state.status, user };
    if (next.status === this.state.status && next.user === this.state.user) return;
    this.state = next;
    for (const listener of [...this.listeners]) listener(next);
  }
}

for (const name of Object.keys(routes) as RouteName[]) {
  Object.defineProperty(AuthClient.prototype, name, {
    value: function (this: AuthClient, ...args: unknown[]) {
      return this.call(name, ...args);
    },
    writable: true,
    configurable: true,
  });
}

async function signInResult<K extends "login" | "loginWithIdToken">(answer: Promise<AnswerOf<K>>): Promise<SignInResult<K>> {
  try {
    return { ...(await answer), status: "signedIn" } as SignedIn<K>;
  } catch (error) {
    if (error instanceof AuthError && error.code === "mfaRequired" && error.mfaToken) {
      return { status: "mfaRequired", mfaToken: error.mfaToken, message: error.message };
    }
    throw error;
  }
}

/** Make the one client of the app. */
export function createAuthClient(options: AuthClientOptions): AuthClient {
  return new AuthClient(options);
}

function requestOf(route: Route, args: unknown[]): Outgoing {
  if (route.path.includes("{")) {
    const argument = args[0];
    if (typeof argument !== "string" || !argument) throw new TypeError(`${route.path} needs its {argument} as a string.`);
    if (route.body) return { argument, body: args[1] ?? {}, signal: signalOf(args[2]) };
    return { argument, signal: signalOf(args[1]) };
  }
  if (route.body) return { body: args[0] ?? {}, signal: signalOf(args[1]) };
  if (route.query) return { query: args[0] as Record<string, unknown> | undefined, signal: signalOf(args[1]) };
  return { signal: signalOf(args[0]) };
}

function signalOf(options: unknown): AbortSignal | undefined {
  return isObject(options) ? (options["signal"] as AbortSignal | undefined) : undefined;
}

function normalEmail(email: string): string {
  return email.trim().toLowerCase();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Whether two JSON values (answers of the server) hold the same data, whatever the order of their keys. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && sameJson(a[key], b[key]));
}

function isPassing(error: unknown): boolean {
  return error instanceof AuthError && (error.offline || error.status === 429 || error.status >= 500);
}

/** Success is a 2xx with `success` not false, as the original client read it; the rest is an `AuthError`. */
function readEnvelope(response: Response, text: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = undefined;
  }
  if (!isObject(body)) {
    throw new AuthError({
      status: response.status,
      code: "badResponse",
      message: `The server answered ${response.status} without JSON.`,
    });
  }
  if (response.ok && body["success"] !== false) return body;
  const retryAfter = Number(response.headers.get("Retry-After"));
  throw new AuthError({
    status: response.status,
    message: typeof body["message"] === "string" ? body["message"] : `The server answered ${response.status}.`,
    code: typeof body["code"] === "string" ? body["code"] : undefined,
    errors: isObject(body["errors"]) ? (body["errors"] as Record<string, string[]>) : undefined,
    retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    mfaToken: typeof body["mfaToken"] === "string" ? body["mfaToken"] : undefined,
  });
}

/** Whether the app's own API refused the token: `401`, or the envelope's `invalidToken`. */
async function rejectsToken(response: Response): Promise<boolean> {
  if (response.status === 401) return true;
  if (response.status !== 403) return false;
  try {
    const body: unknown = await response.clone().json();
    return isObject(body) && body["code"] === "invalidToken";
  } catch {
    return false;
  }
}

/** A body that can be sent twice (a stream cannot). */
function canResend(body: BodyInit | null | undefined): boolean {
  return body === undefined || body === null || typeof body === "string" || !(typeof ReadableStream !== "undefined" && body instanceof ReadableStream);
}

/** One call's time limit and the caller's own signal, as one `AbortSignal`. */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private timedOut = false;
  private readonly onCallerAbort = (): void => this.controller.abort();

  constructor(
    milliseconds: number,
    private readonly caller: AbortSignal | undefined,
  ) {
    if (milliseconds > 0) {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.controller.abort();
      }, milliseconds);
    }
    if (caller?.aborted) this.controller.abort();
    else caller?.addEventListener("abort", this.onCallerAbort);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  explain(error: unknown): unknown {
    if (error instanceof AuthError) return error;
    if (this.timedOut) return new AuthError({ status: 0, code: "timeout", message: "The server did not answer in time.", cause: error });
    if (this.caller?.aborted) return new AuthError({ status: 0, code: "aborted", message: "The call was aborted.", cause: error });
    return new AuthError({ status: 0, code: "networkError", message: "Could not reach the server.", cause: error });
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.caller?.removeEventListener("abort", this.onCallerAbort);
  }
}

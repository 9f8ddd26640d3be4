/** The React binding: `<AuthProvider client={...}>` once at the root, `useAuth()` wherever needed. */
import { type ReactNode, createContext, createElement, useContext, useEffect, useMemo, useSyncExternalStore } from "react";

import type { AuthClient, AuthState, SignInResult } from "../client.js";
import type { AnswerOf, BodyOf } from "../routes.js";

const AuthContext = createContext<AuthClient | null>(null);

export interface AuthProviderProps {
  client: AuthClient;
  children?: ReactNode;
}

/** Restores the stored session on mount (and asks the server who is signed in), then provides the client. */
export function AuthProvider({ client, children }: AuthProviderProps) {
  useEffect(() => {
    client
      .restore()
      .then((state) => (state.status === "signedIn" && !state.user ? client.me() : undefined))
      .catch(() => undefined); // offline at start: still signed in, `user` stays null until refreshUser()
  }, [client]);
  return createElement(AuthContext.Provider, { value: client }, children);
}

export interface UseAuth extends AuthState {
  /** True once the stored session is known to exist (the user may still be null while offline). */
  signedIn: boolean;
  client: AuthClient;
  /** Log in with email and password (`client.login`). */
  login(body: BodyOf<"login">): Promise<AnswerOf<"login">>;
  /** Create the account, then log in with it (`client.signup`, then `client.login`). */
  signup(body: BodyOf<"signup">): Promise<AnswerOf<"login">>;
  /**
   * Log in with a native Google or Apple ID token (`client.loginWithIdToken`). `nonce` is the raw
   * nonce the app made for this sign-in: the SDK was given its SHA-256 hex, which the token's
   * `nonce` claim must be.
   */
  loginWithIdToken(body: BodyOf<"loginWithIdToken">): Promise<AnswerOf<"loginWithIdToken">>;
  /**
   * Log in with email and password, a second factor in mind (`client.authenticate`): resolves to
   * `{ status: "signedIn", ... }` or `{ status: "mfaRequired", mfaToken, message }`; finish the
   * latter with `mfaVerify`.
   */
  authenticate(body: BodyOf<"login">): Promise<SignInResult<"login">>;
  /** `loginWithIdToken`, a second factor in mind (`client.authenticateWithIdToken`). */
  authenticateWithIdToken(body: BodyOf<"loginWithIdToken">): Promise<SignInResult<"loginWithIdToken">>;
  /** Finish a sign-in held for a second factor: its `mfaToken` and a TOTP or recovery code (`client.mfaVerify`). */
  mfaVerify(body: BodyOf<"mfaVerify">): Promise<AnswerOf<"mfaVerify">>;
  /** Sign in with a passkey: the `challengeId` of `client.authenticationOptions()` and the platform's answer (`client.passkeyLogin`). */
  passkeyLogin(body: BodyOf<"passkeyLogin">): Promise<AnswerOf<"passkeyLogin">>;
  /** End this device's session (`client.logout`); the tokens are forgotten even when the server cannot be reached. */
  logout(): Promise<void>;
  /** Ask the server for the user again (refreshing the access token if needed). */
  refreshUser(): Promise<AnswerOf<"me">>;
  /** @deprecated The same as `login`, the name the client and the server use. */
  signIn(body: BodyOf<"login">): Promise<AnswerOf<"login">>;
  /** @deprecated The same as `signup`, the name the client and the server use. */
  signUp(body: BodyOf<"signup">): Promise<AnswerOf<"login">>;
  /** @deprecated The same as `loginWithIdToken`, the name the client and the server use. */
  signInWithIdToken(body: BodyOf<"loginWithIdToken">): Promise<AnswerOf<"loginWithIdToken">>;
  /** @deprecated The same as `logout`, the name the client and the server use. */
  signOut(): Promise<void>;
}

/** The signed-in state, the user and the actions; re-renders when any of them changes. */
export function useAuth(): UseAuth {
  const client = useContext(AuthContext);
  if (!client) throw new Error("useAuth() must be called inside <AuthProvider>.");
  const state = useSyncExternalStore(client.subscribe, client.getState, client.getState);
  return useMemo(() => {
    const login = (body: BodyOf<"login">) => client.login(body);
    const signup = async (body: BodyOf<"signup">) => {
      await client.signup(body);
      return client.login({ email: body.email, password: body.password });
    };
    const loginWithIdToken = (body: BodyOf<"loginWithIdToken">) => client.loginWithIdToken(body);
    const logout = () => client.logout();
    return {
      ...state,
      signedIn: state.status === "signedIn",
      client,
      login,
      signup,
      loginWithIdToken,
      authenticate: (body: BodyOf<"login">) => client.authenticate(body),
      authenticateWithIdToken: (body: BodyOf<"loginWithIdToken">) => client.authenticateWithIdToken(body),
      mfaVerify: (body: BodyOf<"mfaVerify">) => client.mfaVerify(body),
      passkeyLogin: (body: BodyOf<"passkeyLogin">) => client.passkeyLogin(body),
      logout,
      refreshUser: () => client.me(),
      signIn: login,
      signUp: signup,
      signInWithIdToken: loginWithIdToken,
      signOut: logout,
    };
  }, [state, client]);
}

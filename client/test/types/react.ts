// Compile-time checks of the React binding's names, run by `npm run typecheck`: the actions have
// the client's names, and an app written against the old ones still compiles.
import type { AuthClient } from "../../src/client.js";
import type { UseAuth } from "../../src/react/index.js";

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const t = <T extends true>(): T => true as T;

t<Equals<Parameters<UseAuth["login"]>, [body: Parameters<AuthClient["login"]>[0]]>>();
t<Equals<ReturnType<UseAuth["login"]>, ReturnType<AuthClient["login"]>>>();
t<Equals<Parameters<UseAuth["signup"]>, [body: Parameters<AuthClient["signup"]>[0]]>>();
t<Equals<Parameters<UseAuth["loginWithIdToken"]>, [body: Parameters<AuthClient["loginWithIdToken"]>[0]]>>();
t<Equals<UseAuth["logout"], () => Promise<void>>>();
t<Equals<ReturnType<UseAuth["authenticate"]>, ReturnType<AuthClient["authenticate"]>>>();
t<Equals<Parameters<UseAuth["mfaVerify"]>, [body: Parameters<AuthClient["mfaVerify"]>[0]]>>();
t<Equals<Parameters<UseAuth["passkeyLogin"]>, [body: Parameters<AuthClient["passkeyLogin"]>[0]]>>();

// The deprecated names: the same types as the new ones.
t<Equals<UseAuth["signIn"], UseAuth["login"]>>();
t<Equals<UseAuth["signUp"], UseAuth["signup"]>>();
t<Equals<UseAuth["signInWithIdToken"], UseAuth["loginWithIdToken"]>>();
t<Equals<UseAuth["signOut"], UseAuth["logout"]>>();

// An app of before still compiles.
export async function oldApp(auth: UseAuth): Promise<void> {
  await auth.signUp({ first: "Ada", last: "Lovelace", email: "ada@example.com", password: "correct horse battery" });
  await auth.signIn({ email: "ada@example.com", password: "correct horse battery" });
  await auth.signInWithIdToken({ provider: "google", idToken: "a token" });
  await auth.signOut();
}

// Sign in with Google and Apple over HTTP against the live server, which checks the ID tokens
// against key sets the test serves (see support/providers.mjs): loginWithIdToken, linkIdToken,
// identities, unlinkIdentity, deleteAccount with an ID token, and the React binding's
// loginWithIdToken.
import assert from "node:assert/strict";
import { randomInt, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createElement } from "react";
import TestRenderer from "react-test-renderer";

import { AuthError, createAuthClient, memoryStorage, readTokenClaims } from "../dist/index.js";
import { AuthProvider, useAuth } from "../dist/react/index.js";
import { newUser, recordingFetch } from "./support/fetch.mjs";
import { hashedNonce, startProviders } from "./support/providers.mjs";
import { codeIn, startServer } from "./support/server.mjs";

const { act, create } = TestRenderer;
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

let providers;
let server;
before(async () => {
  providers = await startProviders();
  // At INFO, in JSON, the server logs each message it would mail: verify() reads the codes there.
  server = await startServer({ ACCESS_TOKEN_TTL: "600", LOG_LEVEL: "INFO", LOG_FORMAT: "json", ...providers.settings });
});
after(async () => {
  await server?.stop();
  await providers?.stop();
});

function makeClient() {
  const fetch = recordingFetch();
  const storage = memoryStorage();
  const expired = [];
  const client = createAuthClient({ baseUrl: server.baseUrl, storage, fetch, onSessionExpired: (error) => expired.push(error.code) });
  return { client, fetch, storage, expired };
}

/** Someone at a provider: a subject of their own, and an address unique within the run. */
function someone(first = "Ada") {
  return { sub: String(randomInt(1e9, 1e10)) + randomInt(1e9, 1e10), email: newUser(first).email };
}

async function rejection(promise) {
  const error = await promise.then(
    () => assert.fail("expected the call to fail"),
    (caught) => caught,
  );
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${error}`);
  return error;
}

function lastRequest(fetch) {
  const request = fetch.requests.at(-1);
  return { method: request.method, path: request.path, body: request.body && JSON.parse(request.body), bearer: Boolean(request.authorization) };
}

describe("loginWithIdToken", () => {
  test("a new Google identity makes an account and signs in (created: true); the next sign-in finds it (created: false)", async () => {
    const { client, fetch, storage, expired } = makeClient();
    const person = someone("Grace");
    const body = { provider: "google", idToken: providers.idToken("google", { ...person, given_name: "Grace", family_name: "Hopper" }) };

    const answer = await client.loginWithIdToken(body);
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/loginWithIdToken", body, bearer: false });
    assert.equal(answer.created, true);
    assert.equal(answer.user.email, person.email);
    assert.equal(answer.user.emailVerified, true);
    assert.equal(answer.user.first, "Grace");
    assert.equal(storage.entries.get("auth.authToken"), answer.authToken);
    assert.equal(storage.entries.get("auth.refreshToken"), answer.refreshToken);
    assert.equal(readTokenClaims(answer.authToken).email, person.email);
    assert.equal(client.getState().status, "signedIn");
    assert.equal(client.getState().user.id, answer.user.id);
    assert.equal((await client.me()).user.email, person.email);
    assert.equal(typeof (await client.refresh()), "string", "the session refreshes like a password login's");

    const again = makeClient();
    const second = await again.client.loginWithIdToken({ provider: "google", idToken: providers.idToken("google", person) });
    assert.equal(second.created, false);
    assert.equal(second.user.id, answer.user.id);
    const { sessions } = await again.client.sessions();
    assert.equal(sessions.length, 2, "each sign-in is a session of its own");
    const { activity } = await again.client.activity();
    assert.deepEqual(
      activity.map((entry) => [entry.activity, entry.method]),
      [["login", "google"], ["login", "google"], ["signup", "google"]],
    );
    assert.deepEqual(expired, []);
  });

  test("Apple with a nonce and the name of the first sign-in; a copy without the nonce, a wrong audience or issuer is invalidIdToken", async () => {
    const { client, fetch } = makeClient();
    const person = someone("Hedy");
    const rawNonce = randomUUID();
    const idToken = providers.idToken("apple", { ...person, nonce: hashedNonce(rawNonce) });

    for (const refused of [
      { provider: "apple", idToken }, // the nonce withheld: a replayed copy
      { provider: "apple", idToken, nonce: "not the nonce" },
      { provider: "apple", idToken: providers.idToken("apple", { ...person, aud: "com.example.other" }) },
      { provider: "apple", idToken: providers.idToken("google", person) }, // Google's token sent as Apple's
      { provider: "google", idToken: providers.idToken("google", { ...person, exp: Math.floor(Date.now() / 1000) - 60 }) },
    ]) {
      const error = await rejection(client.loginWithIdToken(refused));
      assert.equal(error.status, 400);
      assert.equal(error.code, "invalidIdToken");
      assert.equal(error.message, "The sign-in token is invalid.");
      assert.equal(client.getState().status, "signedOut");
    }

    const body = { provider: "apple", idToken, nonce: rawNonce, first: "Hedy", last: "Lamarr" };
    const answer = await client.loginWithIdToken(body);
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/loginWithIdToken", body, bearer: false });
    assert.equal(answer.created, true);
    assert.deepEqual([answer.user.first, answer.user.last, answer.user.email], ["Hedy", "Lamarr", person.email]);
    assert.equal(answer.user.emailVerified, true, 'Apple\'s "true"');
    assert.equal(client.getState().user.last, "Lamarr");
  });

  test("a provider with no client ID is providerDisabled", async () => {
    const off = await startServer({ ACCESS_TOKEN_TTL: "600", ...providers.settings, APPLE_CLIENT_IDS: "" });
    try {
      const client = createAuthClient({ baseUrl: off.baseUrl });
      const error = await rejection(client.loginWithIdToken({ provider: "apple", idToken: providers.idToken("apple", someone()) }));
      assert.equal(error.status, 400);
      assert.equal(error.code, "providerDisabled");
      assert.equal(client.getState().status, "signedOut");
    } finally {
      await off.stop();
    }
  });
});

/** Confirm a signed-in user's address with the code the server mailed at signup (the session's token keeps the password). */
async function verify(client, user) {
  const code = codeIn(await server.nextMail(user.email, /^Confirm your email address/));
  assert.deepEqual(await client.verifyEmail({ email: user.email, code }), { success: true, passwordRemoved: false });
}

describe("linked identities", () => {
  test("linkIdToken links Google to a password account; identities lists it; unlinkIdentity removes it", async () => {
    const { client, fetch, storage } = makeClient();
    const user = newUser();
    await client.signup(user);
    await client.login({ email: user.email, password: user.password });
    const token = storage.entries.get("auth.authToken");
    const person = { sub: someone().sub, email: user.email };

    // Not linked yet, and the password account's address is not verified: the ID token may not sign in to it.
    const exists = await rejection(makeClient().client.loginWithIdToken({ provider: "google", idToken: providers.idToken("google", person) }));
    assert.equal(exists.code, "accountExists");

    assert.deepEqual(await client.identities(), { success: true, identities: [] });
    assert.deepEqual(lastRequest(fetch), { method: "GET", path: "/api/auth/identities", body: undefined, bearer: true });

    // Linking takes a verified address and the password: a stolen access token alone adds no way in.
    const unproven = { provider: "google", idToken: providers.idToken("google", person), password: user.password };
    assert.equal((await rejection(client.linkIdToken(unproven))).code, "emailNotVerified");
    await verify(client, user);
    const noPassword = await rejection(client.linkIdToken({ provider: "google", idToken: providers.idToken("google", person) }));
    assert.equal(noPassword.status, 400);

    const body = { provider: "google", idToken: providers.idToken("google", person), password: user.password };
    assert.deepEqual(await client.linkIdToken(body), { success: true });
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/linkIdToken", body, bearer: true });
    assert.equal(fetch.requests.at(-1).authorization, `Bearer ${token}`);
    const [identity, ...more] = (await client.identities()).identities;
    assert.deepEqual(more, []);
    assert.equal(identity.provider, "google");
    assert.equal(identity.email, user.email);
    assert.ok(!Number.isNaN(Date.parse(identity.createdAt)));

    // The identity now signs in to the password account.
    const viaGoogle = makeClient();
    const answer = await viaGoogle.client.loginWithIdToken({ provider: "google", idToken: providers.idToken("google", person) });
    assert.equal(answer.created, false);
    assert.equal(answer.user.email, user.email);

    // One identity, one account; one Google identity per account.
    const other = makeClient();
    const otherUser = newUser();
    await other.client.signup(otherUser);
    await other.client.login({ email: otherUser.email, password: otherUser.password });
    await verify(other.client, otherUser);
    const taken = { ...body, password: otherUser.password };
    assert.equal((await rejection(other.client.linkIdToken(taken))).code, "identityInUse");
    const second = { provider: "google", idToken: providers.idToken("google", someone()), password: user.password };
    assert.equal((await rejection(client.linkIdToken(second))).code, "providerAlreadyLinked");

    assert.deepEqual(await client.unlinkIdentity("google"), { success: true });
    assert.deepEqual(lastRequest(fetch), { method: "DELETE", path: "/api/auth/identities/google", body: undefined, bearer: true });
    assert.deepEqual((await client.identities()).identities, []);
    assert.equal((await rejection(client.unlinkIdentity("google"))).status, 404);
    assert.equal(client.getState().status, "signedIn");
  });

  test("an account without a password: its last identity cannot be unlinked; deleteAccount takes a fresh ID token and signs out", async () => {
    const { client, storage, expired } = makeClient();
    const person = someone("Ada");
    const rawNonce = randomUUID();
    const { created } = await client.loginWithIdToken({
      provider: "apple",
      idToken: providers.idToken("apple", { ...person, nonce: hashedNonce(rawNonce) }),
      nonce: rawNonce,
    });
    assert.equal(created, true);

    const last = await rejection(client.unlinkIdentity("apple"));
    assert.equal(last.status, 400);
    assert.equal(last.code, "lastSignInMethod");
    assert.equal((await rejection(client.changePassword({ currentPassword: "anything at all", newPassword: "a new passphrase" }))).code, "noPassword");

    const stranger = providers.idToken("apple", someone());
    assert.equal((await rejection(client.deleteAccount({ idToken: stranger }))).code, "invalidIdToken", "an identity of another account");
    assert.equal(client.getState().status, "signedIn");

    const deleteNonce = randomUUID();
    const fresh = providers.idToken("apple", { ...person, nonce: hashedNonce(deleteNonce) });
    assert.deepEqual(await client.deleteAccount({ idToken: fresh, nonce: deleteNonce }), { success: true });
    assert.equal(client.getState().status, "signedOut");
    assert.equal(storage.entries.size, 0);
    assert.deepEqual(expired, [], "the user asked: this is no expiry");

    // The identity went with the account: signing in with it again makes a new one.
    const again = await makeClient().client.loginWithIdToken({ provider: "apple", idToken: providers.idToken("apple", person) });
    assert.equal(again.created, true);
  });
});

test("the React binding: loginWithIdToken shows the user, logout the sign-in screen", async () => {
  const { client, storage } = makeClient();
  let latest;
  function Screen() {
    latest = useAuth();
    return createElement("Text", null, latest.signedIn ? `Hello ${latest.user?.first ?? "…"}` : latest.status === "loading" ? "Loading" : "Sign in");
  }
  let renderer;
  await act(async () => {
    renderer = create(createElement(AuthProvider, { client }, createElement(Screen)));
  });
  const text = () => renderer.root.findByType("Text").children.join("");
  assert.equal(text(), "Sign in");

  const person = someone("Katherine");
  let answer;
  await act(async () => {
    answer = await latest.loginWithIdToken({ provider: "google", idToken: providers.idToken("google", { ...person, given_name: "Katherine" }) });
  });
  assert.equal(answer.created, true);
  assert.equal(text(), "Hello Katherine");
  assert.equal(latest.user.email, person.email);
  assert.equal(storage.entries.size, 2);

  await act(() => latest.logout());
  assert.equal(text(), "Sign in");
  assert.equal(storage.entries.size, 0);
  await act(() => renderer.unmount());
});

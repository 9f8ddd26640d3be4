// A call belongs to the session it was made in. When the server refuses its access token, the
// client refreshes and sends it again only if that session is still the client's once the
// refresh is over: after a sign-out or another user's sign-in meanwhile the call fails with
// `sessionChanged` and is never sent with the new session's token; and the answer of a call of
// the earlier session does not change the new one's state. Against the live server,
// with two-second access tokens; a gate in the client's `fetch` holds chosen requests, so that
// a refusal or a refresh lands exactly when the test wants it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { AuthError, createAuthClient, memoryStorage, readTokenClaims } from "../dist/index.js";
import { REFRESH, newUser, recordingFetch, waitPastExpiry } from "./support/fetch.mjs";
import { startServer } from "./support/server.mjs";

const ME = "/api/auth/me";

let server;
before(async () => {
  server = await startServer(); // ACCESS_TOKEN_TTL=2, JWT_LEEWAY=0
});
after(async () => {
  await server?.stop();
});

/**
 * A `fetch` that records every request and holds those a test asks for: `hold(method, path)`
 * catches the next such request before it is sent; `arrived` resolves when it is caught, and
 * `release()` lets it go on (with the headers the client gave it, as a request slow on the
 * network would arrive).
 */
function gatedFetch() {
  const inner = recordingFetch();
  const gates = [];
  const wrapped = async (input, init = {}) => {
    const path = new URL(String(input)).pathname;
    const method = init.method ?? "GET";
    const gate = gates.find((g) => !g.caught && g.method === method && g.path === path);
    if (gate) {
      gate.caught = true;
      gate.arrive();
      await gate.released;
    }
    return inner(input, init);
  };
  wrapped.requests = inner.requests;
  wrapped.count = inner.count;
  wrapped.hold = (method, path) => {
    const gate = { method, path, caught: false };
    gate.arrived = new Promise((resolve) => (gate.arrive = resolve));
    gate.released = new Promise((resolve) => (gate.release = resolve));
    gates.push(gate);
    return gate;
  };
  return wrapped;
}

/**
 * One client (one phone) on which Alice is signed in, and Bob, who has an account and will sign
 * in on it. `refreshMargin: 0`: the client sends a token until its `exp`, so a request held past
 * it is refused by the server (`invalidToken`) instead of refreshed ahead.
 */
async function alicesPhone() {
  const fetch = gatedFetch();
  const storage = memoryStorage();
  const expired = [];
  const client = createAuthClient({ baseUrl: server.baseUrl, storage, fetch, refreshMargin: 0, onSessionExpired: (error) => expired.push(error) });
  const alice = newUser("Alice");
  const bob = newUser("Bob");
  await client.signup(alice);
  await client.signup(bob);
  const login = await client.login({ email: alice.email, password: alice.password });
  return { client, fetch, storage, expired, alice, bob, aliceToken: login.authToken };
}

/** Bob's name as the server has it, asked by a client of his own. */
async function nameOf(user) {
  const own = createAuthClient({ baseUrl: server.baseUrl });
  await own.login({ email: user.email, password: user.password });
  const { user: answer } = await own.me();
  return [answer.first, answer.last];
}

/** What a call came to: `{error}`, or `{answer}` when it succeeded (which these calls must not). */
function settled(promise) {
  return promise.then(
    (answer) => ({ answer }),
    (error) => ({ error }),
  );
}

function assertSessionChanged({ error, answer }) {
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${error ?? `an answer: ${JSON.stringify(answer)}`}`);
  assert.equal(error.code, "sessionChanged");
  assert.equal(error.status, 0);
  assert.equal(error.sessionChanged, true);
  assert.equal(error.sessionEnded, false, "the client's session (Bob's, or none asked for) is not one that expired");
  assert.equal(error.offline, false);
}

/** Whose token each request to `path` with `method` carried: the `first` claim of its bearer token. */
function bearers(fetch, method, path) {
  return fetch.requests
    .filter((r) => r.method === method && r.path === path)
    .map((r) => readTokenClaims(r.authorization.replace(/^Bearer /, ""))?.first ?? r.authorization);
}

test("Alice's updateMe refused, the refresh delayed, Bob signs in meanwhile: sessionChanged, Bob's name untouched", async () => {
  const { client, fetch, storage, expired, bob, aliceToken } = await alicesPhone();
  const patch = fetch.hold("PATCH", ME);
  const refresh = fetch.hold("POST", REFRESH);
  const aliceCall = settled(client.updateMe({ first: "Mallory" }));
  await patch.arrived; // sent with Alice's token, still valid here
  await waitPastExpiry(aliceToken);
  patch.release(); // arrives expired: invalidToken, and the client refreshes
  await refresh.arrived;

  const bobLogin = await client.login({ email: bob.email, password: bob.password });
  refresh.release(); // Alice's refresh answers after Bob signed in

  const outcome = await aliceCall;
  assert.deepEqual(bearers(fetch, "PATCH", ME), ["Alice"], "sent once, with Alice's token, never with Bob's");
  assert.deepEqual(await nameOf(bob), ["Bob", "Lovelace"]);
  assertSessionChanged(outcome);
  // Bob's session is as his sign-in left it: the refresh's answer (Alice's) was not stored.
  assert.equal(storage.entries.get("auth.authToken"), bobLogin.authToken);
  assert.equal(storage.entries.get("auth.refreshToken"), bobLogin.refreshToken);
  assert.equal(client.getState().user.email, bob.email);
  assert.equal(expired.length, 0);
  assert.equal((await client.me()).user.email, bob.email);
});

test("Alice's call refused after the refresh it waited on failed and Bob signed in: not sent again with Bob's token", async () => {
  const { client, fetch, bob, aliceToken } = await alicesPhone();
  const get = fetch.hold("GET", ME);
  const patch = fetch.hold("PATCH", ME);
  const refresh = fetch.hold("POST", REFRESH);

  const aliceMe = settled(client.me());
  const aliceUpdate = settled(client.updateMe({ first: "Mallory" }));
  await Promise.all([get.arrived, patch.arrived]);
  await waitPastExpiry(aliceToken);
  get.release(); // refused: the refresh starts, and is held
  await refresh.arrived;
  await client.login({ email: bob.email, password: bob.password });
  refresh.release();
  const first = await aliceMe;

  patch.release(); // Alice's second call is refused now, with Bob signed in and no refresh under way
  const outcome = await aliceUpdate;
  assert.deepEqual(bearers(fetch, "PATCH", ME), ["Alice"]);
  assert.deepEqual(await nameOf(bob), ["Bob", "Lovelace"]);
  assertSessionChanged(outcome);
  assertSessionChanged(first);
});

test("Bob signs in while Alice's call is on its way and it comes back refused: sessionChanged, no refresh", async () => {
  const { client, fetch, bob, aliceToken } = await alicesPhone();
  const patch = fetch.hold("PATCH", ME);
  const aliceCall = settled(client.updateMe({ last: "Mallory" }));
  await patch.arrived;
  await waitPastExpiry(aliceToken);
  await client.login({ email: bob.email, password: bob.password });
  patch.release(); // refused: Alice's token expired on the way

  const outcome = await aliceCall;
  assert.deepEqual(bearers(fetch, "PATCH", ME), ["Alice"]);
  assert.deepEqual(await nameOf(bob), ["Bob", "Lovelace"]);
  assert.equal(fetch.count(REFRESH), 0, "Alice's session is no longer the client's to refresh");
  assertSessionChanged(outcome);
});

test("calls queued behind a refresh ahead of expiry, and Bob signs in: each fails, none is sent", async () => {
  const { client, fetch, bob, aliceToken } = await alicesPhone();
  await waitPastExpiry(aliceToken); // the client sees it expired: it refreshes before sending
  const refresh = fetch.hold("POST", REFRESH);
  const calls = [client.updateMe({ first: "Mallory" }), client.me(), client.sessions()].map(settled);
  await refresh.arrived;
  await client.login({ email: bob.email, password: bob.password });
  refresh.release();

  for (const outcome of await Promise.all(calls)) assertSessionChanged(outcome);
  assert.equal(fetch.count(REFRESH), 1);
  assert.deepEqual(bearers(fetch, "PATCH", ME), []);
  assert.deepEqual(await nameOf(bob), ["Bob", "Lovelace"]);
});

test("Alice signs out while her refused call waits on the refresh: sessionChanged, signed out, nothing sent after", async () => {
  const { client, fetch, storage, expired, aliceToken } = await alicesPhone();
  const patch = fetch.hold("PATCH", ME);
  const refresh = fetch.hold("POST", REFRESH);
  const aliceCall = settled(client.updateMe({ first: "Mallory" }));
  await patch.arrived;
  await waitPastExpiry(aliceToken);
  patch.release();
  await refresh.arrived;
  await client.logout();
  refresh.release();

  assertSessionChanged(await aliceCall);
  assert.equal(fetch.count(ME), 1);
  assert.equal(storage.entries.size, 0);
  assert.deepEqual(client.getState(), { status: "signedOut", user: null });
  assert.equal(expired.length, 0, "the user asked to sign out");
});

test("Bob's own refresh does not wait on Alice's, nor share its fate", async () => {
  const { client, fetch, bob, aliceToken } = await alicesPhone();
  await waitPastExpiry(aliceToken);
  const refresh = fetch.hold("POST", REFRESH);
  const aliceCall = settled(client.me());
  await refresh.arrived;
  await client.login({ email: bob.email, password: bob.password });
  assert.equal(typeof (await client.refresh()), "string", "Bob's refresh went while Alice's was held");
  assert.equal((await client.me()).user.email, bob.email);
  refresh.release();
  assertSessionChanged(await aliceCall);
  assert.equal(client.getState().user.email, bob.email);
  assert.equal((await client.me()).user.email, bob.email);
});

test("the authorised fetch: a request refused after Bob signed in is not sent again with his token", async () => {
  const { client, fetch, bob, aliceToken } = await alicesPhone();
  // The app's own API server here is the auth server's /me: it too refuses an expired token (403 invalidToken).
  const get = fetch.hold("GET", ME);
  const request = settled(client.fetch(`${server.baseUrl}${ME}`));
  await get.arrived;
  await client.login({ email: bob.email, password: bob.password });
  await waitPastExpiry(aliceToken);
  get.release();

  assertSessionChanged(await request);
  assert.deepEqual(bearers(fetch, "GET", ME), ["Alice"]);
  assert.equal(fetch.count(REFRESH), 0);
});

test("an answer that comes after Bob signed in is not applied to his session: me() keeps him the user, logoutAll() keeps him signed in", async () => {
  const { client, fetch, storage, expired, alice, bob } = await alicesPhone();
  const get = fetch.hold("GET", ME);
  const aliceMe = client.me();
  await get.arrived;
  await client.login({ email: bob.email, password: bob.password });
  get.release();
  assert.equal((await aliceMe).user.email, alice.email, "the call was Alice's and resolves with her answer");
  assert.equal(client.getState().user.email, bob.email);

  await client.login({ email: alice.email, password: alice.password });
  const logoutAll = fetch.hold("POST", "/api/auth/logoutAll");
  const aliceLogoutAll = client.logoutAll();
  await logoutAll.arrived;
  const bobLogin = await client.login({ email: bob.email, password: bob.password });
  logoutAll.release();
  assert.equal((await aliceLogoutAll).success, true);
  assert.equal(client.getState().status, "signedIn");
  assert.equal(client.getState().user.email, bob.email);
  assert.equal(storage.entries.get("auth.refreshToken"), bobLogin.refreshToken);
  assert.equal((await client.me()).user.email, bob.email);
  assert.equal(expired.length, 0);
});

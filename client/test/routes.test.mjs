// The session and user routes over HTTP against the live server. The account routes are in
// accounts.test.mjs, Sign in with Google and Apple in id-tokens.test.mjs.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";

import { AuthError, createAuthClient, memoryStorage, readTokenClaims, routes } from "../dist/index.js";
import { newUser, recordingFetch } from "./support/fetch.mjs";
import { startServer } from "./support/server.mjs";

let server;
before(async () => {
  // Tokens that stay fresh for the whole run: these tests count every request.
  server = await startServer({ ACCESS_TOKEN_TTL: "600" });
});
after(() => server?.stop());

function makeClient(options = {}) {
  const fetch = recordingFetch();
  const storage = memoryStorage();
  const client = createAuthClient({ baseUrl: server.baseUrl + "/", storage, fetch, ...options });
  return { client, fetch, storage };
}

async function signedIn(options) {
  const made = makeClient(options);
  const user = newUser();
  await made.client.signup(user);
  await made.client.login({ email: user.email, password: user.password });
  return { ...made, user };
}

async function rejection(promise) {
  const error = await promise.then(
    () => assert.fail("expected the call to fail"),
    (caught) => caught,
  );
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${error}`);
  return error;
}

describe("sessions and users", () => {
  test("signup answers the envelope; a taken email and a short password are typed errors", async () => {
    const { client, fetch } = makeClient();
    const user = newUser();
    assert.deepEqual(await client.signup(user), { success: true });
    const [request] = fetch.requests;
    assert.equal(request.method, "POST");
    assert.equal(request.path, "/api/auth/signup");
    assert.deepEqual(JSON.parse(request.body), user);

    const taken = await rejection(client.signup(user));
    assert.equal(taken.status, 400);
    assert.equal(taken.message, "A user with that username already exists.");

    const short = await rejection(client.signup({ ...newUser(), password: "short" }));
    assert.equal(short.status, 400);
    assert.ok(Array.isArray(short.errors?.password), "errors names the field");
  });

  test("login stores both tokens, says who signed in, and a wrong password is a 400", async () => {
    const { client, storage } = makeClient();
    const user = newUser();
    await client.signup(user);
    const wrong = await rejection(client.login({ email: user.email, password: "not the password" }));
    assert.equal(wrong.status, 400);
    assert.equal(client.getState().status, "signedOut");

    const answer = await client.login({ email: user.email, password: user.password });
    assert.equal(answer.user.email, user.email);
    assert.equal(storage.entries.get("auth.authToken"), answer.authToken);
    assert.equal(storage.entries.get("auth.refreshToken"), answer.refreshToken);
    assert.equal(readTokenClaims(answer.authToken).email, user.email);
    assert.equal(client.getState().status, "signedIn");
    assert.equal(client.getState().user.email, user.email);
  });

  test("me, getAll (paged), sessions and activity carry the bearer token", async () => {
    const { client, fetch, user } = await signedIn();
    const token = (await client.getAccessToken());
    fetch.reset();

    assert.equal((await client.me()).user.email, user.email);
    const first = await client.getAll({ limit: 1 });
    assert.equal(first.message.length, 1);
    assert.equal(typeof first.next, "string");
    const second = await client.getAll({ limit: 1, after: first.next });
    assert.notEqual(second.message[0].id, first.message[0].id);
    const { sessions } = await client.sessions();
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0].current, true);
    const { activity } = await client.activity({ limit: 5 });
    assert.deepEqual(activity.map((entry) => entry.activity).slice(0, 2), ["login", "signup"]);

    assert.deepEqual(
      fetch.requests.map((request) => `${request.method} ${request.path}${request.search}`),
      [
        "GET /api/auth/me",
        "GET /api/auth/getAll?limit=1",
        `GET /api/auth/getAll?limit=1&after=${first.next}`,
        "GET /api/auth/sessions",
        "GET /api/auth/activity?limit=5",
      ],
    );
    assert.ok(fetch.requests.every((request) => request.authorization === `Bearer ${token}`));
  });

  test("endSession ends another device's session; an unknown id is a 404", async () => {
    const phone = await signedIn();
    const tablet = makeClient();
    await tablet.client.login({ email: phone.user.email, password: phone.user.password });
    const { sessions } = await phone.client.sessions();
    const other = sessions.find((session) => !session.current);
    assert.deepEqual(await phone.client.endSession(other.id), { success: true });
    assert.equal(phone.fetch.requests.at(-1).method, "DELETE");
    assert.equal(phone.fetch.requests.at(-1).path, `/api/auth/sessions/${other.id}`);

    const refused = await rejection(tablet.client.refresh());
    assert.equal(refused.code, "refreshExpired");
    assert.equal(tablet.client.getState().status, "signedOut");

    const unknown = await rejection(phone.client.endSession("000000000000000000000000"));
    assert.equal(unknown.status, 404);
  });

  test("changePassword keeps this session and ends the others", async () => {
    const phone = await signedIn();
    const tablet = makeClient();
    await tablet.client.login({ email: phone.user.email, password: phone.user.password });
    const answer = await phone.client.changePassword({ currentPassword: phone.user.password, newPassword: "a new passphrase" });
    assert.equal(answer.revoked, 1);
    assert.equal((await phone.client.refresh()).length > 0, true);
    assert.equal((await rejection(tablet.client.refresh())).code, "refreshExpired");
    await phone.client.login({ email: phone.user.email, password: "a new passphrase" });
  });

  test("logout ends the session at the server and forgets the tokens", async () => {
    const { client, storage } = await signedIn();
    const refreshToken = storage.entries.get("auth.refreshToken");
    await client.logout();
    assert.equal(storage.entries.size, 0);
    assert.equal(client.getState().status, "signedOut");
    const replay = await fetch(`${server.baseUrl}/api/auth/refreshToken`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken }),
    });
    assert.equal((await replay.json()).code, "refreshExpired");
  });

  test("logoutAll ends every session and signs this client out", async () => {
    const phone = await signedIn();
    const tablet = makeClient();
    await tablet.client.login({ email: phone.user.email, password: phone.user.password });
    assert.equal((await phone.client.logoutAll()).revoked, 2);
    assert.equal(phone.storage.entries.size, 0);
    assert.equal(phone.client.getState().status, "signedOut");
    assert.equal((await rejection(tablet.client.refresh())).code, "refreshExpired");
  });

  test("health and ready answer; the key set is a 404 with a shared secret", async () => {
    const { client } = makeClient();
    assert.equal((await client.health()).success, true);
    assert.equal((await client.ready()).success, true);
    assert.equal((await rejection(client.jwks())).status, 404);
  });

  test("a call that needs a session fails before any request when nobody is signed in", async () => {
    const { client, fetch } = makeClient();
    const error = await rejection(client.me());
    assert.equal(error.code, "notSignedIn");
    assert.equal(error.status, 0);
    assert.equal(fetch.requests.length, 0);
  });

  test("a new client on the same storage restores the session", async () => {
    const { storage, user } = await signedIn();
    const restarted = createAuthClient({ baseUrl: server.baseUrl, storage });
    assert.equal(restarted.getState().status, "loading");
    assert.equal((await restarted.restore()).status, "signedIn");
    assert.equal((await restarted.me()).user.email, user.email);
    assert.equal(restarted.getState().user.email, user.email);
  });

  test("subscribe is told of real changes only: me() bringing the same user back changes nothing", async () => {
    const { client } = await signedIn();
    const told = [];
    client.subscribe((state) => told.push(state));
    const before = client.getState();

    const { user } = await client.me();
    assert.notEqual(user, before.user, "a new object from the server");
    await client.me();
    assert.deepEqual(told, [], "the same user: no listener called");
    assert.equal(client.getState(), before, "getState() is the same object");

    await client.updateMe({ last: "King" });
    assert.equal(told.length, 1);
    assert.equal(told[0].user.last, "King");
    assert.equal(client.getState(), told[0]);
    await client.me();
    assert.equal(told.length, 1);
  });
});

describe("the table of routes", () => {
  test("every route of the table is called over HTTP by a test of this folder", async () => {
    const folder = new URL(".", import.meta.url);
    const files = (await readdir(folder)).filter((name) => name.endsWith(".test.mjs"));
    const sources = await Promise.all(files.map((name) => readFile(new URL(name, folder), "utf8")));
    const called = (name) => sources.some((source) => new RegExp(`\\.${name}\\(`).test(source));
    assert.deepEqual(Object.keys(routes).filter((name) => !called(name)), []);
  });

  test("a path argument is URL-encoded", async () => {
    const { client, fetch } = await signedIn();
    const unknown = await rejection(client.endSession("a/b?c"));
    assert.equal(unknown.status, 404);
    assert.equal(fetch.requests.at(-1).path, "/api/auth/sessions/a%2Fb%3Fc");
  });
});

// Every method of the client: over HTTP against the live server for the routes it has, and the
// contract's path, method and body for the routes other branches are adding.
import assert from "node:assert/strict";
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

describe("routes the server has", () => {
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
});

describe("routes being added on other branches: the contract's path, method and body", () => {
  const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiaWF0IjoxLCJleHAiOjk5OTk5OTk5OTl9.c2lnbmF0dXJl";
  const user = { id: "1", first: "Ada", last: "Lovelace", email: "ada@example.com", emailVerified: true, createdAt: "2025-01-01T00:00:00.000Z" };

  // `answer` is the JSON every request gets, or a function of the request's path giving it.
  function stubbed(answer) {
    const requests = [];
    const storage = memoryStorage();
    const fetch = async (url, init) => {
      requests.push({ url: new URL(url), ...init, headers: new Headers(init.headers) });
      const body = typeof answer === "function" ? answer(new URL(url).pathname) : answer;
      return new Response(JSON.stringify({ success: true, ...body }), { status: 200, headers: { "Content-Type": "application/json" } });
    };
    const client = createAuthClient({ baseUrl: "http://auth.test", storage, fetch });
    return { client, requests, storage };
  }

  async function signedInStub(answer) {
    const stub = stubbed(answer);
    await stub.storage.set("auth.authToken", TOKEN);
    await stub.storage.set("auth.refreshToken", TOKEN);
    return stub;
  }

  const cases = [
    ["forgotPassword", [{ email: "ada@example.com" }], "POST", "/api/auth/forgotPassword", false],
    ["resetPassword", [{ email: "ada@example.com", code: "123456", newPassword: "new passphrase" }], "POST", "/api/auth/resetPassword", false],
    ["verifyEmail", [{ email: "ada@example.com", code: "123456" }], "POST", "/api/auth/verifyEmail", false],
    ["resendVerification", [{ email: "ada@example.com" }], "POST", "/api/auth/resendVerification", false],
    ["updateMe", [{ first: "Augusta" }], "PATCH", "/api/auth/me", true],
    ["changeEmail", [{ password: "correct horse", newEmail: "augusta@example.com" }], "POST", "/api/auth/changeEmail", true],
    ["confirmEmailChange", [{ code: "123456" }], "POST", "/api/auth/confirmEmailChange", true],
    ["deleteAccount", [{ password: "correct horse" }], "POST", "/api/auth/deleteAccount", true],
    ["loginWithIdToken", [{ provider: "apple", idToken: "id.token.here", nonce: "n" }], "POST", "/api/auth/loginWithIdToken", false],
    ["linkIdToken", [{ provider: "google", idToken: "id.token.here" }], "POST", "/api/auth/linkIdToken", true],
    ["identities", [], "GET", "/api/auth/identities", true],
    ["unlinkIdentity", ["google"], "DELETE", "/api/auth/identities/google", true],
  ];

  for (const [name, args, method, path, bearer] of cases) {
    test(`${name}: ${method} ${path}`, async () => {
      const { client, requests } = await signedInStub({ user, authToken: TOKEN, refreshToken: TOKEN, created: false });
      await client[name](...args);
      assert.equal(requests.length, 1);
      const [request] = requests;
      assert.equal(request.method, method);
      assert.equal(request.url.pathname, path);
      assert.equal(request.body, typeof args[0] === "object" ? JSON.stringify(args[0]) : undefined);
      assert.equal(request.headers.get("Authorization"), bearer ? `Bearer ${TOKEN}` : null);
      assert.equal(request.headers.get("Accept"), "application/json");
    });
  }

  test("every route of the table is covered here or over HTTP", () => {
    const overHttp = ["signup", "login", "getAll", "me", "logoutAll", "sessions", "endSession", "changePassword", "activity", "health", "ready", "jwks"];
    const covered = new Set([...overHttp, ...cases.map(([name]) => name)]);
    assert.deepEqual(Object.keys(routes).filter((name) => !covered.has(name)), []);
  });

  test("loginWithIdToken signs in; updateMe and confirmEmailChange update the user; deleteAccount signs out", async () => {
    const answers = {
      "/api/auth/loginWithIdToken": { user, authToken: TOKEN, refreshToken: TOKEN, created: true },
      "/api/auth/me": { user: { ...user, first: "Augusta" } },
      "/api/auth/confirmEmailChange": { user: { ...user, first: "Augusta", email: "augusta@example.com" } },
    };
    const { client, storage } = stubbed((path) => answers[path] ?? {});
    const answer = await client.loginWithIdToken({ provider: "google", idToken: "id.token.here" });
    assert.equal(answer.created, true);
    assert.equal(storage.entries.get("auth.refreshToken"), TOKEN);
    assert.equal(client.getState().status, "signedIn");
    assert.equal(client.getState().user.first, "Ada");

    await client.updateMe({ first: "Augusta" });
    assert.equal(client.getState().user.first, "Augusta");
    await client.confirmEmailChange({ code: "123456" });
    assert.equal(client.getState().user.email, "augusta@example.com");
    await client.deleteAccount({ password: "correct horse" });
    assert.equal(client.getState().status, "signedOut");
    assert.equal(storage.entries.size, 0);
  });

  test("a path argument is URL-encoded", async () => {
    const { client, requests } = await signedInStub({});
    await client.endSession("a/b?c");
    assert.equal(requests[0].url.pathname, "/api/auth/sessions/a%2Fb%3Fc");
  });
});

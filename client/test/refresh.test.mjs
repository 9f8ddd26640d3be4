// Refresh done right, against the live server: one refresh for every waiting call, a refresh
// ahead of expiry, one retry and no more, the session ended only when the server says so, and
// nothing lost while the server is away.
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";

import { AuthError, createAuthClient, memoryStorage } from "../dist/index.js";
import { REFRESH, newUser, recordingFetch, tampered, waitPastExpiry } from "./support/fetch.mjs";
import { startProxy } from "./support/proxy.mjs";
import { startServer } from "./support/server.mjs";

const ME = "/api/auth/me";
// `server` issues two-second access tokens, for the tests about expiry. `steady` issues tokens
// that stay fresh for the whole run, for the tests that must not see an expiry: with whole-second
// `iat` and `exp`, a two-second token can be within the refresh margin a few milliseconds after
// it was issued.
let server;
let steady;
let proxy;
let api;

before(async () => {
  [server, steady] = await Promise.all([startServer(), startServer({ ACCESS_TOKEN_TTL: "600" })]);
  proxy = await startProxy(server.port);
  api = await startOwnApi(steady.secretKey);
});
after(async () => {
  await api?.stop();
  await proxy?.stop();
  await Promise.all([server?.stop(), steady?.stop()]);
});

async function signedIn({ baseUrl = server.baseUrl, fetch = recordingFetch(), ...options } = {}) {
  const storage = memoryStorage();
  const expired = [];
  const client = createAuthClient({ baseUrl, storage, fetch, onSessionExpired: (error) => expired.push(error), ...options });
  const user = newUser();
  await client.signup(user);
  const login = await client.login({ email: user.email, password: user.password });
  fetch.reset();
  return { client, storage, fetch, user, login, expired };
}

async function rejection(promise) {
  const error = await promise.then(
    () => assert.fail("expected the call to fail"),
    (caught) => caught,
  );
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${error}`);
  return error;
}

describe("one refresh for every waiting call", () => {
  test("20 concurrent calls after the access token expired: one refresh, all succeed", async () => {
    const { client, fetch, user, login, storage } = await signedIn();
    await waitPastExpiry(login.authToken);
    const calls = Array.from({ length: 20 }, (_, i) =>
      [() => client.me(), () => client.sessions(), () => client.activity({ limit: 2 }), () => client.getAll({ limit: 1 })][i % 4](),
    );
    const answers = await Promise.all(calls);
    assert.equal(fetch.count(REFRESH), 1);
    assert.ok(answers.every((answer) => answer.success === true));
    assert.equal(answers[0].user.email, user.email);
    assert.notEqual(storage.entries.get("auth.authToken"), login.authToken);
    // The refresh went first: no call was sent with the expired token.
    const expiredBearer = `Bearer ${login.authToken}`;
    assert.equal(fetch.requests.filter((request) => request.authorization === expiredBearer).length, 0);
  });

  test("20 concurrent calls the server refuses (invalidToken): one refresh, each retried once and answered", async () => {
    const { fetch, storage, login, user } = await signedIn({ baseUrl: steady.baseUrl });
    // As after a restart of the app with a token the server no longer accepts: it looks valid here.
    const restored = memoryStorage();
    restored.entries.set("auth.authToken", tampered(login.authToken));
    restored.entries.set("auth.refreshToken", storage.entries.get("auth.refreshToken"));
    const again = createAuthClient({ baseUrl: steady.baseUrl, storage: restored, fetch });
    const answers = await Promise.all(Array.from({ length: 20 }, () => again.me()));
    assert.ok(answers.every((answer) => answer.user.email === user.email));
    assert.equal(fetch.count(REFRESH), 1);
    assert.equal(fetch.count(ME), 40);
  });

  test("ahead of expiry: within the margin the token is refreshed before the call is sent", async () => {
    const { client, fetch, login } = await signedIn();
    // Lifetime 2 s, so the margin is 1 s (at most half the life): wait until 0.5 s are left.
    const { exp } = JSON.parse(Buffer.from(login.authToken.split(".")[1], "base64url").toString());
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - 500 - Date.now())));
    await client.me();
    assert.deepEqual(
      fetch.requests.map((request) => request.path),
      [REFRESH, ME],
    );
  });

  test("a failed refresh ahead of expiry falls back on the token that is still valid", async () => {
    let refreshes = 0;
    const inner = recordingFetch();
    const failingRefresh = async (input, init) => {
      if (String(input).endsWith(REFRESH)) {
        refreshes += 1;
        throw new TypeError("Network request failed");
      }
      return inner(input, init);
    };
    const { client, login, user } = await signedIn({ fetch: Object.assign(failingRefresh, { reset() {} }) });
    const { exp } = JSON.parse(Buffer.from(login.authToken.split(".")[1], "base64url").toString());
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - 900 - Date.now())));
    assert.equal((await client.me()).user.email, user.email);
    assert.equal(refreshes, 1);
  });

  test("a call is retried once after a refresh, never more", async () => {
    const inner = recordingFetch();
    // Every call to /me carries a token the server refuses, whatever the client refreshed to.
    const spoiling = async (input, init) => {
      if (String(input).endsWith(ME)) init = { ...init, headers: { ...init.headers, Authorization: "Bearer spoilt" } };
      return inner(input, init);
    };
    Object.assign(spoiling, { reset: inner.reset });
    const { client, expired, storage } = await signedIn({ baseUrl: steady.baseUrl, fetch: spoiling });
    const error = await rejection(client.me());
    assert.equal(error.code, "invalidToken");
    assert.equal(error.status, 403);
    assert.equal(inner.count(ME), 2);
    assert.equal(inner.count(REFRESH), 1);
    assert.equal(expired.length, 0, "an access token refused twice does not end the session");
    assert.equal(storage.entries.size, 2);
  });
});

describe("the session ends only when the server says so", () => {
  test("refreshExpired: onSessionExpired once, storage cleared, signed out", async () => {
    const { client, fetch, storage, expired, user } = await signedIn();
    const elsewhere = createAuthClient({ baseUrl: server.baseUrl });
    await elsewhere.login({ email: user.email, password: user.password });
    await elsewhere.logoutAll(); // ends this client's session too
    await waitPastExpiry(storage.entries.get("auth.authToken"));

    const errors = await Promise.all(Array.from({ length: 5 }, () => rejection(client.me())));
    assert.ok(errors.every((error) => error.code === "refreshExpired" && error.status === 403));
    assert.equal(fetch.count(REFRESH), 1);
    assert.equal(expired.length, 1);
    assert.equal(expired[0].code, "refreshExpired");
    assert.equal(storage.entries.size, 0);
    assert.deepEqual(client.getState(), { status: "signedOut", user: null });

    fetch.reset();
    assert.equal((await rejection(client.me())).code, "notSignedIn");
    assert.equal(fetch.requests.length, 0);
    assert.equal(expired.length, 1);
  });

  test("after the next sign-in, the next expiry is reported again", async () => {
    const { client, storage, expired, user } = await signedIn();
    for (let round = 1; round <= 2; round += 1) {
      const elsewhere = createAuthClient({ baseUrl: server.baseUrl });
      await elsewhere.login({ email: user.email, password: user.password });
      await elsewhere.logoutAll();
      await rejection(client.refresh());
      assert.equal(expired.length, round);
      await client.login({ email: user.email, password: user.password });
      assert.equal(storage.entries.size, 2);
    }
  });

  test("a sign-out during a refresh is not undone by the refresh's answer", async () => {
    const { client, storage, expired, fetch } = await signedIn({ baseUrl: steady.baseUrl });
    const refreshing = rejection(client.refresh());
    await client.logout();
    // The refresh stores nothing and reports no expiry: it belonged to the session that ended.
    const error = await refreshing;
    assert.equal(error.code, "sessionChanged");
    assert.equal(fetch.count(REFRESH), 0, "signed out before it read the refresh token: nothing to send");
    assert.equal(storage.entries.size, 0);
    assert.equal(expired.length, 0);
    assert.equal(client.getState().status, "signedOut");
  });
});

describe("the server away", () => {
  test("stopped mid-session: errors, tokens kept, and all works when it is back", async () => {
    const { client, fetch, storage, expired, user } = await signedIn({ baseUrl: proxy.baseUrl });
    const kept = new Map(storage.entries);
    try {
      await proxy.down();
      const refused = await rejection(client.me());
      assert.equal(refused.code, "networkError");
      assert.equal(refused.status, 0);
      assert.equal(refused.offline, true);

      await waitPastExpiry(kept.get("auth.authToken"));
      const refreshFailed = await rejection(client.me()); // needs a refresh first: that fails too
      assert.equal(refreshFailed.code, "networkError");
      assert.equal(fetch.count(REFRESH), 1);

      await proxy.badGateway();
      const gateway = await rejection(client.me());
      assert.equal(gateway.status, 502);
      assert.equal(gateway.code, "badResponse");

      assert.deepEqual(storage.entries, kept);
      assert.equal(expired.length, 0);
      assert.equal(client.getState().status, "signedIn");

      await proxy.up();
      fetch.reset();
      assert.equal((await client.me()).user.email, user.email);
      assert.equal(fetch.count(REFRESH), 1);
      assert.equal((await client.sessions()).sessions.length, 1);
    } finally {
      await proxy.up();
    }
  });

  test("a server that does not answer: a timeout error, tokens kept", async () => {
    const { storage, expired } = await signedIn({ baseUrl: proxy.baseUrl });
    const client = createAuthClient({ baseUrl: proxy.baseUrl, storage, timeout: 300, onSessionExpired: (error) => expired.push(error) });
    try {
      await proxy.silent();
      const error = await rejection(client.me());
      assert.equal(error.code, "timeout");
      assert.equal(storage.entries.size, 2);
      assert.equal(expired.length, 0);
    } finally {
      await proxy.up();
    }
  });

  test("the caller's own signal aborts a call", async () => {
    const { client } = await signedIn();
    const controller = new AbortController();
    controller.abort();
    assert.equal((await rejection(client.me({ signal: controller.signal }))).code, "aborted");
  });
});

describe("the authorised fetch for the app's own API", () => {
  test("adds the bearer token, and after a 401 refreshes once and sends again", async () => {
    const { client, fetch, login, storage } = await signedIn({ baseUrl: steady.baseUrl });
    let response = await client.fetch(`${api.baseUrl}/profile`);
    assert.equal(response.status, 200);
    assert.equal((await response.json()).sub, JSON.parse(Buffer.from(login.authToken.split(".")[1], "base64url")).sub);

    storage.entries.set("auth.authToken", tampered(login.authToken));
    const restarted = createAuthClient({ baseUrl: steady.baseUrl, storage, fetch });
    api.hits.length = 0;
    response = await restarted.fetch(`${api.baseUrl}/profile`, { method: "POST", body: JSON.stringify({ hello: 1 }) });
    assert.equal(response.status, 200);
    assert.deepEqual(api.hits, [401, 200]);
    assert.equal(fetch.count(REFRESH), 1);
    assert.deepEqual((await response.json()).body, { hello: 1 });
  });

  test("a token refused again after the refresh: the 401 goes to the caller", async () => {
    const { client, fetch } = await signedIn({ baseUrl: steady.baseUrl });
    api.hits.length = 0;
    const response = await client.fetch(`${api.baseUrl}/always-401`);
    assert.equal(response.status, 401);
    assert.deepEqual(api.hits, [401, 401]);
    assert.equal(fetch.count(REFRESH), 1);
  });
});

describe("tokens never written out", () => {
  test("no console output and no token in an error", async () => {
    const written = [];
    const methods = ["log", "info", "warn", "error", "debug"];
    const originals = methods.map((name) => console[name]);
    methods.forEach((name) => (console[name] = (...args) => written.push(args.join(" "))));
    try {
      const { client, storage, login } = await signedIn();
      const elsewhere = createAuthClient({ baseUrl: server.baseUrl });
      await elsewhere.login({ email: (await client.me()).user.email, password: "correct horse battery" });
      await elsewhere.logoutAll();
      await waitPastExpiry(login.authToken);
      const error = await rejection(client.me());
      const everything = [error.message, error.stack, JSON.stringify(error), JSON.stringify({ ...error }), String(error.cause ?? "")].join("\n");
      for (const token of [login.authToken, login.refreshToken]) assert.ok(!everything.includes(token));
      assert.equal(storage.entries.size, 0);
    } finally {
      methods.forEach((name, i) => (console[name] = originals[i]));
    }
    assert.deepEqual(written, []);
  });
});

/** An API server of the app's own: verifies the auth server's HS256 tokens, answers 401 otherwise. */
async function startOwnApi(secret) {
  const hits = [];
  const verify = (header) => {
    const token = (header ?? "").replace(/^Bearer /i, "");
    const [head, payload, signature] = token.split(".");
    if (!signature) return null;
    const expected = createHmac("sha256", secret).update(`${head}.${payload}`).digest();
    const given = Buffer.from(signature, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    return claims.type === "access" && claims.exp > Date.now() / 1000 ? claims : null;
  };
  const httpServer = createServer(async (request, response) => {
    let body = "";
    for await (const chunk of request) body += chunk;
    const claims = request.url === "/always-401" ? null : verify(request.headers.authorization);
    const status = claims ? 200 : 401;
    hits.push(status);
    response.writeHead(status, { "Content-Type": "application/json", ...(claims ? {} : { "WWW-Authenticate": "Bearer" }) });
    response.end(JSON.stringify(claims ? { sub: claims.sub, body: body ? JSON.parse(body) : null } : { message: "Unauthorized" }));
  });
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${httpServer.address().port}`,
    hits,
    stop: () => new Promise((resolve) => httpServer.close(resolve)),
  };
}

// A server with refresh-token rotation: concurrent refreshes never sign the user out, and the
// stored refresh token is always the newest the server gave.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { createAuthClient, memoryStorage } from "../dist/index.js";
import { REFRESH, newUser, recordingFetch, waitPastExpiry } from "./support/fetch.mjs";
import { startServer } from "./support/server.mjs";

const GRACE_SECONDS = 1;
let server;

before(async () => {
  server = await startServer({ REFRESH_TOKEN_ROTATION: "true", REFRESH_REUSE_GRACE_SECONDS: String(GRACE_SECONDS) });
});
after(() => server?.stop());

async function signUp(client) {
  const user = newUser();
  await client.signup(user);
  return user;
}

/** The newest refresh token the server handed out, from its answers as they arrived. */
function newestIssued(fetch, login) {
  return fetch.refreshAnswers.map((answer) => answer?.refreshToken).filter(Boolean).at(-1) ?? login.refreshToken;
}

const pastGrace = () => new Promise((resolve) => setTimeout(resolve, GRACE_SECONDS * 1000 + 200));

test("20 concurrent calls across three expiries: one refresh each time, the newest refresh token stored", async () => {
  const fetch = recordingFetch();
  const storage = memoryStorage();
  const expired = [];
  const client = createAuthClient({ baseUrl: server.baseUrl, storage, fetch, onSessionExpired: (error) => expired.push(error) });
  const user = await signUp(client);
  const login = await client.login({ email: user.email, password: user.password });
  const seen = new Set([login.refreshToken]);
  for (let round = 1; round <= 3; round += 1) {
    await waitPastExpiry(storage.entries.get("auth.authToken"));
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.me()));
    assert.ok(answers.every((answer) => answer.user.email === user.email));
    assert.equal(fetch.count(REFRESH), round);
    const stored = storage.entries.get("auth.refreshToken");
    assert.equal(stored, newestIssued(fetch, login));
    assert.ok(!seen.has(stored), "rotation gave a new refresh token");
    seen.add(stored);
  }
  assert.equal(expired.length, 0);
  assert.equal(client.getState().status, "signedIn");
});

test("two clients on one storage (the app and a background task) refreshing at once: nobody signed out", async () => {
  const fetch = recordingFetch();
  const storage = memoryStorage();
  const expired = [];
  const options = { baseUrl: server.baseUrl, storage, fetch, onSessionExpired: (error) => expired.push(error) };
  const app = createAuthClient(options);
  const task = createAuthClient(options);
  const user = await signUp(app);
  await app.login({ email: user.email, password: user.password });
  await task.restore();

  for (let round = 1; round <= 2; round += 1) {
    fetch.reset();
    // Both present the same refresh token: one answer rotates it, the other is the grace answer.
    await Promise.all([app.refresh(), task.refresh()]);
    assert.equal(fetch.count(REFRESH), 2);
    const rotated = fetch.refreshAnswers.filter((answer) => answer.refreshToken);
    assert.equal(rotated.length, 1, "one answer rotates, the other is within the grace period");
    assert.equal(storage.entries.get("auth.refreshToken"), rotated[0].refreshToken);
    // Past the grace period, the retired token would end the session: the stored one must be the new one.
    await pastGrace();
    assert.equal((await app.me()).user.email, user.email);
    assert.equal((await task.refresh()).length > 0, true);
    assert.equal((await app.refresh()).length > 0, true);
  }
  assert.equal(expired.length, 0);
  assert.equal(storage.entries.size, 2);
});

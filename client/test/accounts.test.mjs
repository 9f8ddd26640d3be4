// The account routes over HTTP against the live server, end to end: the codes are read from the
// messages the server writes to its log (no SMTP host: the console mail backend), as a developer
// reads them in development.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { AuthError, createAuthClient, memoryStorage } from "../dist/index.js";
import { REFRESH, newUser, recordingFetch } from "./support/fetch.mjs";
import { codeIn, startServer } from "./support/server.mjs";

const VERIFY = /^Confirm your email address/;
const RESET = /^Reset your .* password$/;
const NEW_ADDRESS = /^Confirm your new email address/;

let server;
before(async () => {
  server = await startServer({
    ACCESS_TOKEN_TTL: "600", // fresh for the whole run: these tests count requests
    LOG_LEVEL: "INFO", // the console backend writes each message at INFO
    LOG_FORMAT: "json",
    MAIL_LIMIT_PER_HOUR: "20",
  });
});
after(() => server?.stop());

function makeClient() {
  const fetch = recordingFetch();
  const storage = memoryStorage();
  const expired = [];
  const client = createAuthClient({ baseUrl: server.baseUrl, storage, fetch, onSessionExpired: (error) => expired.push(error.code) });
  return { client, fetch, storage, expired };
}

/** A new account, signed in on a client of its own; its verification code is read and set aside. */
async function signedIn() {
  const made = makeClient();
  const user = newUser();
  await made.client.signup(user);
  const verification = await server.nextMail(user.email, VERIFY);
  await made.client.login({ email: user.email, password: user.password });
  return { ...made, user, verification };
}

async function rejection(promise) {
  const error = await promise.then(
    () => assert.fail("expected the call to fail"),
    (caught) => caught,
  );
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${error}`);
  return error;
}

/** What the last request carried: method, path, JSON body, whether it had the bearer token. */
function lastRequest(fetch) {
  const request = fetch.requests.at(-1);
  return { method: request.method, path: request.path, body: request.body && JSON.parse(request.body), bearer: Boolean(request.authorization) };
}

async function refreshTokenRefused(refreshToken) {
  const response = await fetch(`${server.baseUrl}${REFRESH}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refreshToken }),
  });
  return (await response.json()).code === "refreshExpired";
}

describe("verifying the address", () => {
  test("signup mails a code; verifyEmail with it, signed in, sends the bearer, marks the address verified and keeps the password", async () => {
    const { client, fetch, storage, expired, user, verification } = await signedIn();
    assert.equal((await client.me()).user.emailVerified, false);
    const code = codeIn(verification);

    const wrong = await rejection(client.verifyEmail({ email: user.email, code: code === "000000" ? "111111" : "000000" }));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.code, "invalidCode");
    assert.equal(client.getState().status, "signedIn", "a refused code changes nothing here");

    // The session's access token is the proof that the caller holds the account.
    const token = storage.entries.get("auth.authToken");
    assert.deepEqual(await client.verifyEmail({ email: user.email, code }), { success: true, passwordRemoved: false });
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/verifyEmail", body: { email: user.email, code }, bearer: true });
    assert.equal(fetch.requests.at(-1).authorization, `Bearer ${token}`);
    // The signed-in user's own address: the state says verified without asking the server again.
    assert.equal(client.getState().status, "signedIn");
    assert.equal(client.getState().user.emailVerified, true);
    assert.equal(client.getState().user.email, user.email);
    assert.equal((await client.me()).user.emailVerified, true);
    assert.deepEqual(expired, []);

    const reused = await rejection(client.verifyEmail({ email: user.email, code }));
    assert.equal(reused.code, "invalidCode", "a code works once");

    // The password was kept: it still logs in.
    const elsewhere = makeClient().client;
    const { user: shown } = await elsewhere.login({ email: user.email, password: user.password });
    assert.equal(shown.emailVerified, true);
  });

  test("verifyEmail with the token of a session ended elsewhere: no proof, so the password goes and the client signs out", async () => {
    const { client, fetch, storage, expired, user, verification } = await signedIn();
    const tablet = makeClient().client;
    await tablet.login({ email: user.email, password: user.password });
    await tablet.logoutAll(); // this phone's session too; its access token is still within its life
    const states = [];
    client.subscribe((state) => states.push(state.status));
    fetch.reset();

    const code = codeIn(verification);
    assert.deepEqual(await client.verifyEmail({ email: user.email, code }), { success: true, passwordRemoved: true });
    assert.equal(lastRequest(fetch).bearer, true, "the token went, as it was");
    assert.deepEqual(fetch.requests.map((request) => request.path), ["/api/auth/verifyEmail"], "no refresh, no retry");
    assert.deepEqual(states, ["signedOut"], "every session of the account ended");
    assert.equal(storage.entries.size, 0);
    assert.deepEqual(expired, [], "the user asked: this is no expiry");
    assert.equal((await rejection(client.login({ email: user.email, password: user.password }))).status, 400);
  });

  test("verifyEmail signed out with the password keeps it; a wrong password is a 400 on password and uses no code", async () => {
    const { client, fetch } = makeClient();
    const user = newUser();
    await client.signup(user);
    const code = codeIn(await server.nextMail(user.email, VERIFY));

    const wrong = await rejection(client.verifyEmail({ email: user.email, code, password: "not the password" }));
    assert.equal(wrong.status, 400);
    assert.ok(Array.isArray(wrong.errors?.password), "errors names the field");

    const body = { email: user.email, code, password: user.password };
    assert.deepEqual(await client.verifyEmail(body), { success: true, passwordRemoved: false });
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/verifyEmail", body, bearer: false });
    assert.equal(client.getState().status, "signedOut");
    const { user: shown } = await client.login({ email: user.email, password: user.password });
    assert.equal(shown.emailVerified, true);
  });

  test("resendVerification mails a new code that replaces the first; signed out without the password, the code verifies and removes the password", async () => {
    const { client, fetch } = makeClient();
    const user = newUser();
    await client.signup(user);
    const first = codeIn(await server.nextMail(user.email, VERIFY));

    assert.deepEqual(await client.resendVerification({ email: user.email }), { success: true });
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/resendVerification", body: { email: user.email }, bearer: false });
    const second = codeIn(await server.nextMail(user.email, VERIFY));
    if (second !== first) assert.equal((await rejection(client.verifyEmail({ email: user.email, code: first }))).code, "invalidCode");

    // No proof of holding the account (whoever signed up with this address set the password):
    // the mailbox's owner keeps the account, without that password.
    assert.deepEqual(await client.verifyEmail({ email: user.email, code: second }), { success: true, passwordRemoved: true });
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/verifyEmail", body: { email: user.email, code: second }, bearer: false });
    assert.equal(client.getState().status, "signedOut");
    assert.equal((await rejection(client.login({ email: user.email, password: user.password }))).status, 400);
    await client.forgotPassword({ email: user.email });
    const reset = codeIn(await server.nextMail(user.email, RESET));
    await client.resetPassword({ email: user.email, code: reset, newPassword: "a brand new passphrase" });
    const { user: shown } = await client.login({ email: user.email, password: "a brand new passphrase" });
    assert.equal(shown.emailVerified, true);

    // Verified: the same answer, and no new code.
    assert.deepEqual(await client.resendVerification({ email: user.email }), { success: true });
    assert.deepEqual(await client.resendVerification({ email: "nobody.here@example.com" }), { success: true });
    // One mail thread sends in order: once a later message to the address is out, a code the
    // resends had queued would be out too.
    await client.forgotPassword({ email: user.email });
    await server.nextMail(user.email, RESET);
    assert.equal(server.mail.filter((message) => message.to === user.email && VERIFY.test(message.subject)).length, 2, "the signup's and the first resend's");
  });
});

describe("a forgotten password", () => {
  test("forgotPassword mails a code; resetPassword sets the new password and ends every session", async () => {
    const phone = await signedIn(); // a device still signed in with the old password
    const { user } = phone;
    const { client, fetch, storage } = makeClient(); // the device where the password was forgotten

    assert.deepEqual(await client.forgotPassword({ email: user.email }), { success: true });
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/forgotPassword", body: { email: user.email }, bearer: false });
    assert.deepEqual(await client.forgotPassword({ email: "nobody.here@example.com" }), { success: true }, "the same answer for an unknown address");
    const code = codeIn(await server.nextMail(user.email, RESET));

    const weak = await rejection(client.resetPassword({ email: user.email, code, newPassword: "short" }));
    assert.equal(weak.status, 400);
    assert.ok(Array.isArray(weak.errors?.newPassword), "errors names the field");

    const body = { email: user.email, code, newPassword: "a brand new passphrase" };
    assert.deepEqual(await client.resetPassword(body), { success: true }, "a refused password did not use the code up");
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/resetPassword", body, bearer: false });
    assert.equal(client.getState().status, "signedOut", "a reset does not sign in");
    assert.equal(storage.entries.size, 0);
    await server.nextMail(user.email, /password was changed$/);

    assert.equal((await rejection(client.login({ email: user.email, password: user.password }))).status, 400);
    await client.login({ email: user.email, password: "a brand new passphrase" });
    assert.equal(client.getState().status, "signedIn");

    // The other device's session ended with the reset: its next refresh ends it there too.
    const refused = await rejection(phone.client.refresh());
    assert.equal(refused.code, "refreshExpired");
    assert.deepEqual(phone.expired, ["refreshExpired"]);
    assert.equal(phone.storage.entries.size, 0);
    assert.equal(phone.client.getState().status, "signedOut");

    assert.equal((await rejection(client.resetPassword(body))).code, "invalidCode", "a code works once");
  });

  test("resetPassword on a device signed in to that account signs out there, without onSessionExpired", async () => {
    const { client, storage, expired, user } = await signedIn();

    // Someone else's address (a shared tablet): this session is not theirs and stays.
    const other = newUser();
    await makeClient().client.signup(other);
    await client.forgotPassword({ email: other.email });
    await client.resetPassword({ email: other.email, code: codeIn(await server.nextMail(other.email, RESET)), newPassword: "their new passphrase" });
    assert.equal(client.getState().status, "signedIn");
    assert.equal(storage.entries.size, 2);
    assert.equal((await client.me()).user.email, user.email);

    // Its own address, typed in capitals: every session of the account ended, this one included.
    await client.forgotPassword({ email: user.email });
    const code = codeIn(await server.nextMail(user.email, RESET));
    const states = [];
    client.subscribe((state) => states.push(state.status));
    await client.resetPassword({ email: user.email.toUpperCase(), code, newPassword: "a brand new passphrase" });
    assert.deepEqual(states, ["signedOut"]);
    assert.equal(storage.entries.size, 0);
    assert.deepEqual(expired, [], "the user asked: this is no expiry");
    await client.login({ email: user.email, password: "a brand new passphrase" });
    assert.equal(client.getState().status, "signedIn");
  });
});

describe("editing the account", () => {
  test("updateMe changes the name and the state's user; a body with neither name is a 400", async () => {
    const { client, fetch, user } = await signedIn();
    const token = await client.getAccessToken();
    const answer = await client.updateMe({ last: "King" });
    assert.equal(answer.user.last, "King");
    assert.equal(answer.user.first, user.first);
    assert.deepEqual(lastRequest(fetch), { method: "PATCH", path: "/api/auth/me", body: { last: "King" }, bearer: true });
    assert.equal(fetch.requests.at(-1).authorization, `Bearer ${token}`);
    assert.equal(client.getState().user.last, "King");
    assert.equal((await client.me()).user.last, "King");

    const empty = await rejection(client.updateMe({}));
    assert.equal(empty.status, 400);
    assert.equal(empty.message, "Send first or last to change.");
    assert.equal(client.getState().user.last, "King");
  });

  test("changeEmail mails a code to the new address; confirmEmailChange moves the account and the state's user", async () => {
    const { client, fetch, storage, user } = await signedIn();
    const tokens = new Map(storage.entries);
    const newEmail = newUser("Augusta").email;

    const wrong = await rejection(client.changeEmail({ password: "not the password", newEmail }));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.message, "The current password is incorrect.");
    const taken = newUser();
    await makeClient().client.signup(taken);
    assert.equal((await rejection(client.changeEmail({ password: user.password, newEmail: taken.email }))).status, 400);

    assert.deepEqual(await client.changeEmail({ password: user.password, newEmail }), { success: true });
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/changeEmail", body: { password: user.password, newEmail }, bearer: true });
    assert.equal((await client.me()).user.email, user.email, "nothing changes before the code");
    const code = codeIn(await server.nextMail(newEmail, NEW_ADDRESS));

    const answer = await client.confirmEmailChange({ code });
    assert.equal(answer.user.email, newEmail);
    assert.equal(answer.user.emailVerified, true);
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/confirmEmailChange", body: { code }, bearer: true });
    assert.equal(client.getState().user.email, newEmail);
    assert.equal(client.getState().user.emailVerified, true);
    assert.deepEqual(storage.entries, tokens, "the session stays: the tokens are the same");
    await server.nextMail(user.email, /email address was changed$/); // the notice to the old address

    assert.equal((await rejection(client.confirmEmailChange({ code }))).code, "invalidCode", "a code works once");
    const elsewhere = makeClient().client;
    await elsewhere.login({ email: newEmail, password: user.password });
    assert.equal((await rejection(elsewhere.login({ email: user.email, password: user.password }))).status, 400);
  });
});

describe("deleting the account", () => {
  test("deleteAccount deletes it, signs out here without onSessionExpired, and the other devices' sessions end", async () => {
    const phone = await signedIn();
    const { client, fetch, storage, expired, user } = phone;
    const tablet = makeClient();
    await tablet.client.login({ email: user.email, password: user.password });
    const refreshToken = storage.entries.get("auth.refreshToken");
    const states = [];
    client.subscribe((state) => states.push(state.status));

    const wrong = await rejection(client.deleteAccount({ password: "not the password" }));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.message, "The current password is incorrect.");
    assert.equal(client.getState().status, "signedIn", "a refused deletion keeps the session");
    assert.equal(storage.entries.size, 2);
    const missing = await rejection(client.deleteAccount({}));
    assert.equal(missing.status, 400);

    assert.deepEqual(await client.deleteAccount({ password: user.password }), { success: true });
    assert.deepEqual(lastRequest(fetch), { method: "POST", path: "/api/auth/deleteAccount", body: { password: user.password }, bearer: true });
    assert.equal(client.getState().status, "signedOut");
    assert.equal(client.getState().user, null);
    assert.deepEqual(states, ["signedOut"]);
    assert.equal(storage.entries.size, 0);
    assert.deepEqual(expired, [], "the user asked: this is no expiry");
    assert.equal(await refreshTokenRefused(refreshToken), true);
    await server.nextMail(user.email, /account was deleted$/);

    // The tablet's access token is refused at once (its user is gone), and its refresh too.
    const gone = await rejection(tablet.client.me());
    assert.equal(gone.code, "refreshExpired");
    assert.deepEqual(tablet.expired, ["refreshExpired"]);
    assert.equal(tablet.storage.entries.size, 0);

    assert.equal((await rejection(client.login({ email: user.email, password: user.password }))).status, 400);
    assert.deepEqual(await client.signup(user), { success: true }, "the address is free again");
  });
});

// The second factor over HTTP against the live server: TOTP set up and turned on with codes
// computed here as an authenticator app computes them (support/totp.mjs), sign-ins held for it
// (`authenticate`, `authenticateWithIdToken`) and finished by `mfaVerify`, recovery codes,
// step-up, turning it off. A code is accepted once per time step, so each account uses at most
// the step it enabled TOTP in and the next one; the rest is done with recovery codes.
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createElement } from "react";
import TestRenderer from "react-test-renderer";

import { AuthError, createAuthClient, memoryStorage, readTokenClaims } from "../dist/index.js";
import { AuthProvider, useAuth } from "../dist/react/index.js";
import { newUser, recordingFetch } from "./support/fetch.mjs";
import { startProviders } from "./support/providers.mjs";
import { codeIn, startServer } from "./support/server.mjs";
import { stepAt, totp } from "./support/totp.mjs";

const { act, create } = TestRenderer;
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

const VERIFY = /^Confirm your email address/;

let providers;
let server;
before(async () => {
  providers = await startProviders();
  server = await startServer({
    ACCESS_TOKEN_TTL: "600",
    LOG_LEVEL: "INFO", // the console mail backend writes each message at INFO: the verification codes
    LOG_FORMAT: "json",
    MFA_ENCRYPTION_KEYS: randomBytes(32).toString("base64"),
    ...providers.settings,
  });
});
after(async () => {
  await server?.stop();
  await providers?.stop();
});

function makeClient() {
  const fetch = recordingFetch();
  const storage = memoryStorage();
  const client = createAuthClient({ baseUrl: server.baseUrl, storage, fetch });
  return { client, fetch, storage };
}

async function rejection(promise) {
  const error = await promise.then(
    () => assert.fail("expected the call to fail"),
    (caught) => caught,
  );
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${error}`);
  return error;
}

const claimsOf = (storage) => readTokenClaims(storage.entries.get("auth.authToken"));

/** A new account with a verified address, signed in with its password. */
async function verifiedAccount() {
  const made = makeClient();
  const user = newUser();
  await made.client.signup(user);
  const code = codeIn(await server.nextMail(user.email, VERIFY));
  await made.client.login({ email: user.email, password: user.password });
  await made.client.verifyEmail({ email: user.email, code }); // signed in: the password stays
  return { ...made, user };
}

/** TOTP set up and turned on for a signed-in client; `step` is the time step its code was of (the next one is still free). */
async function withTotp(client, proof) {
  const setup = await client.totpSetup(proof);
  const step = stepAt();
  const enabled = await client.totpEnable({ code: totp(setup.secret, step) });
  return { secret: setup.secret, step, recoveryCodes: enabled.recoveryCodes, enabled };
}

describe("TOTP", () => {
  test("setup, enable (the stepped-up access token kept), then a password sign-in is held until mfaVerify", async () => {
    const { client, storage, fetch, user } = await verifiedAccount();
    assert.deepEqual(await client.mfaStatus(), { success: true, totp: false, recoveryCodesLeft: 0, passkeys: 0 });
    assert.equal(claimsOf(storage).aal, 1);
    const refreshToken = storage.entries.get("auth.refreshToken");

    const setup = await client.totpSetup({ password: user.password });
    assert.match(setup.secret, /^[A-Z2-7]{32}$/);
    assert.ok(setup.otpauthUrl.startsWith("otpauth://totp/"));
    const wrong = await rejection(client.totpEnable({ code: totp(setup.secret, stepAt() + 10) }));
    assert.equal(wrong.code, "invalidCode");

    const step = stepAt();
    const enabled = await client.totpEnable({ code: totp(setup.secret, step) });
    assert.equal(enabled.recoveryCodes.length, 10);
    assert.equal(storage.entries.get("auth.authToken"), enabled.authToken, "the new access token of this session is kept");
    assert.equal(storage.entries.get("auth.refreshToken"), refreshToken, "the same session");
    assert.equal(claimsOf(storage).aal, 2);
    assert.equal(client.getState().status, "signedIn");
    assert.equal((await client.mfaStatus()).totp, true);

    await client.logout();
    const held = await client.authenticate({ email: user.email, password: user.password });
    assert.deepEqual(Object.keys(held).sort(), ["message", "mfaToken", "status"]);
    assert.equal(held.status, "mfaRequired");
    assert.equal(held.message, "Enter the code from your authenticator app.");
    assert.equal(client.getState().status, "signedOut", "no session yet");
    assert.equal(storage.entries.size, 0);

    const refused = await rejection(client.mfaVerify({ mfaToken: held.mfaToken, code: totp(setup.secret, step + 10) }));
    assert.equal(refused.code, "invalidCode");
    fetch.reset();
    const answer = await client.mfaVerify({ mfaToken: held.mfaToken, code: totp(setup.secret, step + 1) });
    assert.equal(fetch.requests[0].authorization, null, "mfaVerify carries no bearer token");
    assert.equal(client.getState().status, "signedIn");
    assert.equal(client.getState().user.email, user.email.toLowerCase());
    assert.equal(storage.entries.get("auth.authToken"), answer.authToken);
    assert.equal(storage.entries.get("auth.refreshToken"), answer.refreshToken);
    const claims = claimsOf(storage);
    assert.equal(claims.aal, 2);
    assert.ok(claims.amr.includes("pwd") && claims.amr.includes("otp") && claims.amr.includes("mfa"), String(claims.amr));
    assert.equal(typeof claims.auth_time, "number");
    assert.equal((await client.me()).user.email, user.email.toLowerCase());

    const used = await rejection(client.mfaVerify({ mfaToken: held.mfaToken, code: totp(setup.secret, step + 1) }));
    assert.equal(used.code, "mfaTokenInvalid", "an mfaToken is single use");
  });

  test("login() keeps resolving to a session only: with TOTP on it rejects with mfaRequired, mfaToken set", async () => {
    const { client, user } = await verifiedAccount();
    const { recoveryCodes } = await withTotp(client, { password: user.password });
    await client.logout();
    const error = await rejection(client.login({ email: user.email, password: user.password }));
    assert.equal(error.status, 400);
    assert.equal(error.code, "mfaRequired");
    assert.equal(typeof error.mfaToken, "string");
    assert.equal(client.getState().status, "signedOut");
    // A recovery code finishes it, as a TOTP code would; grouping and case do not matter.
    const answer = await client.mfaVerify({ mfaToken: error.mfaToken, code: recoveryCodes[0].toUpperCase().replace("-", " ") });
    assert.equal(answer.recoveryCodesLeft, 9);
    assert.equal(client.getState().status, "signedIn");
    const again = await client.authenticate({ email: user.email, password: user.password }).catch((e) => e);
    assert.equal(again.status, "mfaRequired", "signed in or not, a password sign-in of this account is held");
    const spent = await rejection(client.mfaVerify({ mfaToken: again.mfaToken, code: recoveryCodes[0] }));
    assert.equal(spent.code, "invalidCode", "a recovery code is single use");
  });

  test("without TOTP, authenticate resolves to the session, stored", async () => {
    const made = makeClient();
    const user = newUser();
    await made.client.signup(user);
    const result = await made.client.authenticate({ email: user.email, password: user.password });
    assert.equal(result.status, "signedIn");
    assert.equal(typeof result.authToken, "string");
    assert.equal(result.user.email, user.email.toLowerCase());
    assert.equal(made.storage.entries.get("auth.refreshToken"), result.refreshToken);
    const wrong = await rejection(made.client.authenticate({ email: user.email, password: "wrong password here" }));
    assert.equal(wrong.code, "invalidCredentials", "other failures still reject");
  });

  test("step-up: the routes that need a code with TOTP on take `code` (and resetPassword `mfaCode`); mfaStepUp; new recovery codes; disable", async () => {
    const { client, storage, user } = await verifiedAccount();
    const { secret, step, recoveryCodes } = await withTotp(client, { password: user.password });

    const missing = await rejection(client.changePassword({ currentPassword: user.password, newPassword: "another horse battery" }));
    assert.equal(missing.code, "stepUpRequired");
    assert.equal(missing.message, "Enter the code from your authenticator app.");
    await client.changePassword({ currentPassword: user.password, newPassword: "another horse battery", code: recoveryCodes[1] });
    user.password = "another horse battery";

    // mfaStepUp: a new access token of this session, kept.
    const refreshToken = storage.entries.get("auth.refreshToken");
    const stepped = await client.mfaStepUp({ code: recoveryCodes[2] });
    assert.equal(storage.entries.get("auth.authToken"), stepped.authToken);
    assert.equal(storage.entries.get("auth.refreshToken"), refreshToken);
    assert.equal(claimsOf(storage).aal, 2);

    // New recovery codes need a TOTP code: the step after the one that enabled it.
    const renewed = await client.recoveryCodes({ code: totp(secret, step + 1) });
    assert.equal(renewed.recoveryCodes.length, 10);
    const old = await rejection(client.mfaStepUp({ code: recoveryCodes[3] }));
    assert.equal(old.code, "invalidCode", "the old recovery codes stop working");
    assert.equal((await client.mfaStatus()).recoveryCodesLeft, 10);

    const noCode = await rejection(client.totpDisable({ password: user.password }));
    assert.equal(noCode.code, "stepUpRequired");
    assert.deepEqual(await client.totpDisable({ password: user.password, code: renewed.recoveryCodes[0] }), { success: true });
    assert.deepEqual(await client.mfaStatus(), { success: true, totp: false, recoveryCodesLeft: 0, passkeys: 0 });
    await client.logout();
    const result = await client.authenticate({ email: user.email, password: user.password });
    assert.equal(result.status, "signedIn");
  });

  test("resetPassword with TOTP on takes the second factor as mfaCode", async () => {
    const { client, user } = await verifiedAccount();
    const { recoveryCodes } = await withTotp(client, { password: user.password });
    const anonymous = makeClient().client;
    await anonymous.forgotPassword({ email: user.email });
    const code = codeIn(await server.nextMail(user.email, /^Reset your .* password$/));
    const missing = await rejection(anonymous.resetPassword({ email: user.email, code, newPassword: "a third horse battery" }));
    assert.equal(missing.code, "stepUpRequired");
    await anonymous.resetPassword({ email: user.email, code, newPassword: "a third horse battery", mfaCode: recoveryCodes[0] });
    const held = await anonymous.authenticate({ email: user.email, password: "a third horse battery" });
    assert.equal(held.status, "mfaRequired", "a reset does not turn the second factor off");
  });

  test("an ID-token sign-in is held too: authenticateWithIdToken, then mfaVerify", async () => {
    const person = { sub: String(randomInt(1e9, 1e10)), email: newUser("Grace").email };
    const { client, storage } = makeClient();
    const created = await client.authenticateWithIdToken({ provider: "google", idToken: providers.idToken("google", person) });
    assert.equal(created.status, "signedIn");
    assert.equal(created.created, true);
    const { secret, step } = await withTotp(client, { currentIdToken: providers.idToken("google", person) });
    await client.logout();

    const held = await client.authenticateWithIdToken({ provider: "google", idToken: providers.idToken("google", person) });
    assert.equal(held.status, "mfaRequired");
    assert.equal(client.getState().status, "signedOut");
    await client.mfaVerify({ mfaToken: held.mfaToken, code: totp(secret, step + 1) });
    assert.equal(client.getState().status, "signedIn");
    assert.ok(claimsOf(storage).amr.includes("fed"));
    assert.equal(claimsOf(storage).aal, 2);
  });
});

describe("the React binding", () => {
  test("useAuth().authenticate answers mfaRequired; useAuth().mfaVerify signs in and re-renders", async () => {
    const { client, user } = await verifiedAccount();
    const { recoveryCodes } = await withTotp(client, { password: user.password });
    await client.logout();

    let auth;
    function Probe() {
      auth = useAuth();
      return null;
    }
    let renderer;
    await act(async () => {
      renderer = create(createElement(AuthProvider, { client }, createElement(Probe)));
    });
    assert.equal(auth.status, "signedOut");
    let held;
    await act(async () => {
      held = await auth.authenticate({ email: user.email, password: user.password });
    });
    assert.equal(held.status, "mfaRequired");
    assert.equal(auth.status, "signedOut");
    await act(async () => {
      await auth.mfaVerify({ mfaToken: held.mfaToken, code: recoveryCodes[0] });
    });
    assert.equal(auth.status, "signedIn");
    assert.equal(auth.user.email, user.email.toLowerCase());
    await act(async () => renderer.unmount());
  });
});

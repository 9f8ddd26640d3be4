// Passkeys over HTTP against the live server, with a software authenticator in Node
// (support/authenticator.mjs: P-256 keys, "none" attestation in CBOR, assertions signed with
// node:crypto) standing in for the phone: registration, sign-in by passkey (tokens stored),
// list, rename, a passkey as the proof of another call, removal; with TOTP on, passkey sign-in
// and a passkey as the second factor of mfaStepUp.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createElement } from "react";
import TestRenderer from "react-test-renderer";

import { AuthError, createAuthClient, memoryStorage, readTokenClaims } from "../dist/index.js";
import { AuthProvider, useAuth } from "../dist/react/index.js";
import { newUser, recordingFetch } from "./support/fetch.mjs";
import { Authenticator, DEVICE_BOUND, ORIGIN, RP_ID } from "./support/authenticator.mjs";
import { codeIn, startServer } from "./support/server.mjs";
import { stepAt, totp } from "./support/totp.mjs";

const { act, create } = TestRenderer;
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

let server;
before(async () => {
  server = await startServer({
    ACCESS_TOKEN_TTL: "600",
    LOG_LEVEL: "INFO",
    LOG_FORMAT: "json",
    WEBAUTHN_RP_ID: RP_ID,
    WEBAUTHN_ORIGINS: ORIGIN,
    MFA_ENCRYPTION_KEYS: randomBytes(32).toString("base64"),
  });
});
after(() => server?.stop());

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

async function verifiedAccount() {
  const made = makeClient();
  const user = newUser("Hedy");
  await made.client.signup(user);
  const code = codeIn(await server.nextMail(user.email, /^Confirm your email address/));
  await made.client.login({ email: user.email, password: user.password });
  await made.client.verifyEmail({ email: user.email, code });
  return { ...made, user };
}

/** Add a passkey made by `authenticator` to a signed-in client, with `proof`. */
async function register(client, authenticator, proof, name) {
  const { challengeId, options } = await client.registrationOptions(proof);
  return client.registerPasskey({ challengeId, credential: authenticator.create(options), name });
}

describe("passkeys", () => {
  test("register with the password as proof, sign in by passkey (tokens stored, aal 2), list and rename", async () => {
    const { client, fetch, user } = await verifiedAccount();
    const phone = new Authenticator();

    const { challengeId, options } = await client.registrationOptions({ password: user.password });
    assert.equal(options.rp.id, RP_ID);
    assert.equal(options.authenticatorSelection.residentKey, "required");
    assert.equal(options.authenticatorSelection.userVerification, "required");
    assert.ok(options.pubKeyCredParams.some((p) => p.alg === -7));
    assert.deepEqual(options.excludeCredentials, []);
    const { passkey } = await client.registerPasskey({ challengeId, credential: phone.create(options), name: "Phone" });
    assert.equal(passkey.name, "Phone");
    assert.equal(typeof passkey.id, "string");

    const listed = await client.listPasskeys();
    assert.equal(listed.passkeys.length, 1);
    assert.equal(listed.passkeys[0].id, passkey.id);
    assert.equal(listed.passkeys[0].synced, true);
    assert.equal((await client.mfaStatus()).passkeys, 1);

    const renamed = await client.renamePasskey(passkey.id, { name: "Work phone" });
    assert.equal(renamed.passkey.name, "Work phone");
    assert.deepEqual(JSON.parse(fetch.requests.at(-1).body), { name: "Work phone" });
    assert.equal(fetch.requests.at(-1).method, "PATCH");
    assert.equal((await rejection(client.renamePasskey("not-a-passkey", { name: "x" }))).status, 404);

    // Somewhere else, nobody signed in: a sign-in challenge, then the assertion.
    const other = makeClient();
    const ceremony = await other.client.authenticationOptions();
    assert.equal(other.fetch.requests[0].authorization, null);
    assert.deepEqual(ceremony.options.allowCredentials ?? [], [], "a sign-in challenge names no account");
    assert.equal(ceremony.options.userVerification, "required");
    const answer = await other.client.passkeyLogin({ challengeId: ceremony.challengeId, credential: phone.get(ceremony.options) });
    assert.equal(other.client.getState().status, "signedIn");
    assert.equal(other.client.getState().user.email, user.email.toLowerCase());
    assert.equal(other.storage.entries.get("auth.refreshToken"), answer.refreshToken);
    const claims = claimsOf(other.storage);
    assert.equal(claims.aal, 2);
    assert.ok(claims.amr.includes("swk") && claims.amr.includes("mfa"), String(claims.amr));
    assert.equal((await other.client.me()).user.email, user.email.toLowerCase());

    // Even while someone is signed in on it, the client asks for a sign-in challenge without its token.
    other.fetch.reset();
    const again = await other.client.authenticationOptions();
    assert.equal(other.fetch.requests[0].authorization, null);
    await other.client.passkeyLogin({ challengeId: again.challengeId, credential: phone.get(again.options) });

    const replayed = await rejection(other.client.passkeyLogin({ challengeId: ceremony.challengeId, credential: phone.get(ceremony.options) }));
    assert.equal(replayed.code, "challengeInvalid", "a challenge is single use");
  });

  test("a passkey as the proof (passkeyProofOptions, with the token) of another call; removal ends the sessions it opened", async () => {
    const { client, user } = await verifiedAccount();
    const phone = new Authenticator();
    const key = new Authenticator({ flags: DEVICE_BOUND });
    const first = await register(client, phone, { password: user.password }, "Phone");

    // A second passkey, the first one as the proof.
    const proof = await client.passkeyProofOptions();
    assert.deepEqual(proof.options.allowCredentials.map((c) => c.id), [phone.id], "a proof's challenge lists the user's passkeys");
    const second = await register(client, key, { passkey: { challengeId: proof.challengeId, credential: phone.get(proof.options) } }, "Key");
    assert.equal((await client.listPasskeys()).passkeys.length, 2);
    assert.equal((await client.listPasskeys()).passkeys[1].synced, false);

    // A sign-in challenge is no proof.
    const signInChallenge = await client.authenticationOptions();
    const refused = await rejection(
      client.registrationOptions({ passkey: { challengeId: signInChallenge.challengeId, credential: phone.get(signInChallenge.options) } }),
    );
    assert.equal(refused.status, 400);

    // Signed in by the first passkey elsewhere; removing it ends that session.
    const elsewhere = makeClient();
    const ceremony = await elsewhere.client.authenticationOptions();
    await elsewhere.client.passkeyLogin({ challengeId: ceremony.challengeId, credential: phone.get(ceremony.options) });
    assert.equal(elsewhere.client.getState().status, "signedIn");

    const proofByKey = await client.passkeyProofOptions();
    assert.deepEqual(
      await client.deletePasskey(first.passkey.id, { passkey: { challengeId: proofByKey.challengeId, credential: key.get(proofByKey.options) } }),
      { success: true },
    );
    assert.deepEqual((await client.listPasskeys()).passkeys.map((p) => p.id), [second.passkey.id]);
    assert.equal((await rejection(client.deletePasskey(first.passkey.id, { password: user.password }))).status, 404);

    await elsewhere.client.refresh().catch(() => undefined);
    assert.equal(elsewhere.client.getState().status, "signedOut", "the session the removed passkey opened is over");
    const gone = await elsewhere.client.authenticationOptions();
    const unknown = await rejection(elsewhere.client.passkeyLogin({ challengeId: gone.challengeId, credential: phone.get(gone.options) }));
    assert.equal(unknown.code, "invalidPasskey");
  });

  test("with TOTP on, a passkey sign-in is never held, and a passkey is the second factor of mfaStepUp", async () => {
    const { client, storage, user } = await verifiedAccount();
    const phone = new Authenticator();
    await register(client, phone, { password: user.password }, "Phone");
    const { secret } = await client.totpSetup({ password: user.password });
    await client.totpEnable({ code: totp(secret, stepAt()) });
    await client.logout();

    const held = await client.authenticate({ email: user.email, password: user.password });
    assert.equal(held.status, "mfaRequired", "the password alone is held");
    const ceremony = await client.authenticationOptions();
    await client.passkeyLogin({ challengeId: ceremony.challengeId, credential: phone.get(ceremony.options) });
    assert.equal(client.getState().status, "signedIn", "a passkey is both factors");
    assert.equal(claimsOf(storage).aal, 2);

    const refreshToken = storage.entries.get("auth.refreshToken");
    const proof = await client.passkeyProofOptions();
    const stepped = await client.mfaStepUp({ passkey: { challengeId: proof.challengeId, credential: phone.get(proof.options) } });
    assert.equal(storage.entries.get("auth.authToken"), stepped.authToken, "the stepped-up token is kept");
    assert.equal(storage.entries.get("auth.refreshToken"), refreshToken);
  });

  test("useAuth().passkeyLogin signs in and re-renders", async () => {
    const { client, user } = await verifiedAccount();
    const phone = new Authenticator();
    await register(client, phone, { password: user.password }, "Phone");

    const fresh = makeClient().client;
    let auth;
    function Probe() {
      auth = useAuth();
      return null;
    }
    let renderer;
    await act(async () => {
      renderer = create(createElement(AuthProvider, { client: fresh }, createElement(Probe)));
    });
    assert.equal(auth.status, "signedOut");
    const { challengeId, options } = await fresh.authenticationOptions();
    await act(async () => {
      await auth.passkeyLogin({ challengeId, credential: phone.get(options) });
    });
    assert.equal(auth.status, "signedIn");
    assert.equal(auth.user.email, user.email.toLowerCase());
    await act(async () => renderer.unmount());
  });
});

// The React binding rendered with react-test-renderer: restore, sign-in, a transparent access
// token refresh, and the end of the session.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { createElement } from "react";
import TestRenderer from "react-test-renderer";

import { createAuthClient, memoryStorage } from "../dist/index.js";
import { AuthProvider, useAuth } from "../dist/react/index.js";
import { REFRESH, newUser, recordingFetch, waitPastExpiry } from "./support/fetch.mjs";
import { startServer } from "./support/server.mjs";

const { act, create } = TestRenderer;
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

let server;
before(async () => {
  server = await startServer();
});
after(() => server?.stop());

/** Renders a screen that shows the auth state; `latest()` is what useAuth() last returned, `renders()` how often it ran. */
async function render(client) {
  let latest;
  let renders = 0;
  function Screen() {
    renders += 1;
    latest = useAuth();
    const text = latest.signedIn ? `Hello ${latest.user?.first ?? "…"}` : latest.status === "loading" ? "Loading" : "Sign in";
    return createElement("Text", null, text);
  }
  let renderer;
  await act(async () => {
    renderer = create(createElement(AuthProvider, { client }, createElement(Screen)));
  });
  return {
    latest: () => latest,
    renders: () => renders,
    text: () => renderer.root.findByType("Text").children.join(""),
    unmount: () => act(() => renderer.unmount()),
  };
}

test("sign-up, sign-in, a refresh nobody sees, and the session's end", async () => {
  const fetch = recordingFetch();
  const storage = memoryStorage();
  const expired = [];
  const client = createAuthClient({ baseUrl: server.baseUrl, storage, fetch, onSessionExpired: (error) => expired.push(error.code) });
  const screen = await render(client);
  assert.equal(screen.text(), "Sign in");
  assert.equal(screen.latest().status, "signedOut");

  const user = newUser("Grace");
  await act(() => screen.latest().signup(user));
  assert.equal(screen.text(), "Hello Grace");
  assert.equal(screen.latest().user.email, user.email);

  // The access token expires: the next call refreshes it and the screen never leaves "signed in".
  await waitPastExpiry(storage.entries.get("auth.authToken"));
  fetch.reset();
  await act(() => screen.latest().refreshUser());
  assert.equal(fetch.count(REFRESH), 1);
  assert.equal(screen.text(), "Hello Grace");
  // The same user again: nothing to render.
  const renders = screen.renders();
  await act(() => screen.latest().refreshUser());
  assert.equal(screen.renders(), renders);

  // The session is ended elsewhere: at the next refresh the screen goes back to "Sign in".
  const elsewhere = createAuthClient({ baseUrl: server.baseUrl });
  await elsewhere.login({ email: user.email, password: user.password });
  await elsewhere.logoutAll();
  await waitPastExpiry(storage.entries.get("auth.authToken"));
  await act(() => screen.latest().refreshUser().catch((error) => assert.equal(error.code, "refreshExpired")));
  assert.equal(screen.text(), "Sign in");
  assert.deepEqual(expired, ["refreshExpired"]);
  assert.equal(storage.entries.size, 0);

  // Signing in again, then out.
  await act(() => screen.latest().login({ email: user.email, password: user.password }));
  assert.equal(screen.text(), "Hello Grace");
  await act(() => screen.latest().logout());
  assert.equal(screen.text(), "Sign in");
  assert.equal(storage.entries.size, 0);
  await screen.unmount();
});

test("an app started with a stored session shows the user the server names", async () => {
  const storage = memoryStorage();
  const first = createAuthClient({ baseUrl: server.baseUrl, storage });
  const user = newUser("Hedy");
  await first.signup(user);
  await first.login({ email: user.email, password: user.password });

  const restarted = createAuthClient({ baseUrl: server.baseUrl, storage });
  const screen = await render(restarted);
  // The provider restored the session and asked the server who it is.
  for (let i = 0; i < 50 && screen.text() !== "Hello Hedy"; i += 1) {
    await act(() => new Promise((resolve) => setTimeout(resolve, 20)));
  }
  assert.equal(screen.text(), "Hello Hedy");
  assert.equal(screen.latest().status, "signedIn");
  await screen.unmount();
});

test("the hook's actions have the client's names; the old ones are the same functions, kept for existing apps", async () => {
  const client = createAuthClient({ baseUrl: server.baseUrl });
  const screen = await render(client);
  const auth = screen.latest();
  for (const name of ["login", "signup", "loginWithIdToken", "logout", "refreshUser"]) assert.equal(typeof auth[name], "function", name);
  assert.equal(auth.signIn, auth.login);
  assert.equal(auth.signUp, auth.signup);
  assert.equal(auth.signInWithIdToken, auth.loginWithIdToken);
  assert.equal(auth.signOut, auth.logout);
  await screen.unmount();
});

test("useAuth outside the provider says what is wrong", () => {
  function Orphan() {
    useAuth();
    return null;
  }
  const errors = [];
  const original = console.error;
  console.error = (...args) => errors.push(args); // React reports the render error too
  try {
    assert.throws(() => act(() => create(createElement(Orphan))), /inside <AuthProvider>/);
  } finally {
    console.error = original;
  }
});

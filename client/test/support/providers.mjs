// Google and Apple as the server sees them: a key set for each (an RSA key made here, served as a
// JWKS by Node's `http` on 127.0.0.1 and a free port) and ID tokens signed the way each provider
// signs them (RS256 with a `kid`; `iss`, `aud`, `sub`, `email`, `email_verified`, `iat`, `exp`).
import { createHash, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { createServer } from "node:http";

export const GOOGLE_CLIENT_ID = "1234-web.apps.googleusercontent.com";
export const APPLE_CLIENT_ID = "com.example.app";

const ISSUERS = { google: "https://accounts.google.com", apple: "https://appleid.apple.com" };
const AUDIENCES = { google: GOOGLE_CLIENT_ID, apple: APPLE_CLIENT_ID };
const LIFETIMES = { google: 3600, apple: 600 }; // seconds, as each provider issues them

function keyOf(provider) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = `${provider}-${randomUUID().slice(0, 8)}`;
  return { kid, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" } };
}

const base64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** The SHA-256 hex of a raw nonce: what the app hands the provider, which puts it in the token. */
export function hashedNonce(raw) {
  return createHash("sha256").update(raw).digest("hex");
}

/** Start the key-set server; `settings` are the server's settings that point at it. */
export async function startProviders() {
  const keys = { google: keyOf("google"), apple: keyOf("apple") };
  const server = createServer((request, response) => {
    const provider = request.url.slice(1);
    if (!(provider in keys)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ keys: [keys[provider].jwk] }));
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const root = `http://127.0.0.1:${server.address().port}`;
  return {
    settings: {
      GOOGLE_CLIENT_IDS: GOOGLE_CLIENT_ID,
      APPLE_CLIENT_IDS: APPLE_CLIENT_ID,
      GOOGLE_JWKS_URL: `${root}/google`,
      APPLE_JWKS_URL: `${root}/apple`,
    },
    /**
     * An ID token of `provider` for `claims.sub` (required) and `claims.email`; any claim may be
     * overridden. Apple's `email_verified` is the string "true", as Apple has sent it.
     */
    idToken(provider, claims) {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: ISSUERS[provider],
        aud: AUDIENCES[provider],
        iat: now,
        exp: now + LIFETIMES[provider],
        email_verified: provider === "apple" ? "true" : true,
        ...(provider === "google" ? { azp: "1234-ios.apps.googleusercontent.com" } : { auth_time: now }),
        ...claims,
      };
      const { kid, privateKey } = keys[provider];
      const signingInput = `${base64url({ alg: "RS256", kid, typ: "JWT" })}.${base64url(payload)}`;
      return `${signingInput}.${sign("sha256", Buffer.from(signingInput), privateKey).toString("base64url")}`;
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

// Reading a token's claims without atob or Buffer.
import assert from "node:assert/strict";
import { test } from "node:test";

import { readTokenClaims } from "../dist/index.js";

const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const token = (claims) => `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}.c2lnbmF0dXJl`;

test("reads the claims, names in any script included", () => {
  const claims = { sub: "65a1", exp: 1_900_000_000, iat: 1_899_999_100, first: "Zoë", last: "李", email: "zoë@example.com" };
  assert.deepEqual(readTokenClaims(token(claims)), claims);
});

test("every payload length decodes, with or without padding", () => {
  for (let length = 0; length < 12; length += 1) {
    const claims = { pad: "x".repeat(length) };
    const payload = encode(claims);
    assert.deepEqual(readTokenClaims(`h.${payload}.s`), claims);
    const padded = payload + "=".repeat((4 - (payload.length % 4)) % 4);
    assert.deepEqual(readTokenClaims(`h.${padded}.s`), claims);
  }
});

test("anything that is not a JWT with a JSON object payload is null", () => {
  for (const bad of ["", "abc", "a.b", "a.b.c.d", `h.${encode({ a: 1 })}.s.x`, `h.${encode([1, 2])}.s`, `h.${encode("text")}.s`, "h.!!!.s", `h.${Buffer.from([0xff, 0xfe]).toString("base64url")}.s`, `h.${Buffer.from("{not json").toString("base64url")}.s`]) {
    assert.equal(readTokenClaims(bad), null, bad);
  }
});

/** The claims of one of the server's tokens, read without verifying its signature. */
export interface TokenClaims {
  sub?: string;
  sid?: string;
  type?: string;
  email?: string;
  first?: string;
  last?: string;
  iat?: number;
  exp?: number;
  jti?: string;
  [claim: string]: unknown;
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Hand-written so that it runs where `atob` and `Buffer` do not (older Hermes, some workers).
function base64UrlBytes(text: string): number[] | null {
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const character of text.replace(/=+$/, "")) {
    const value = character === "+" ? 62 : character === "/" ? 63 : BASE64URL.indexOf(character);
    if (value < 0) return null;
    buffer = ((buffer << 6) | value) & 0x3fff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return bytes;
}

function utf8(bytes: number[]): string | null {
  try {
    return decodeURIComponent(bytes.map((byte) => "%" + byte.toString(16).padStart(2, "0")).join(""));
  } catch {
    return null; // not UTF-8
  }
}

/** Read a JWT's claims without verifying it (the server verifies); null when it is not a JWT. */
export function readTokenClaims(token: string): TokenClaims | null {
  const parts = token.split(".");
  const payload = parts.length === 3 ? parts[1] : undefined;
  if (!payload) return null;
  const bytes = base64UrlBytes(payload);
  const text = bytes && utf8(bytes);
  if (!text) return null;
  try {
    const claims: unknown = JSON.parse(text);
    return claims !== null && typeof claims === "object" && !Array.isArray(claims) ? (claims as TokenClaims) : null;
  } catch {
    return null;
  }
}

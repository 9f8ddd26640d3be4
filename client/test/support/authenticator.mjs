// A software WebAuthn authenticator for the tests, as tests/authenticator.py is for the
// server's: one P-256 passkey, "none" attestation in hand-encoded CBOR, assertions signed with
// node:crypto. It answers the server's options JSON with the JSON forms a React Native passkey
// module returns (RegistrationResponseJSON, AuthenticationResponseJSON).
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";

export const RP_ID = "example.test";
export const ORIGIN = `https://${RP_ID}`;

const UP = 0x01;
const UV = 0x04;
const BE = 0x08;
const BS = 0x10;
const AT = 0x40;
/** A synced passkey (iCloud Keychain, Google Password Manager): backed up, counter stays 0. */
export const SYNCED = UP | UV | BE | BS;
/** A device-bound one (a security key): its counter goes up at each use. */
export const DEVICE_BOUND = UP | UV;

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const sha256 = (data) => createHash("sha256").update(data).digest();

/** CBOR (RFC 8949) for what attestation needs: integers, byte and text strings, maps. */
export function cbor(value) {
  const head = (major, length) => {
    if (length < 24) return Buffer.from([(major << 5) | length]);
    if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
    if (length < 0x10000) {
      const out = Buffer.alloc(3);
      out[0] = (major << 5) | 25;
      out.writeUInt16BE(length, 1);
      return out;
    }
    const out = Buffer.alloc(5);
    out[0] = (major << 5) | 26;
    out.writeUInt32BE(length, 1);
    return out;
  };
  if (Number.isInteger(value)) return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Map) {
    return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  }
  throw new TypeError(`no CBOR for ${value}`);
}

export class Authenticator {
  constructor({ origin = ORIGIN, rpId = RP_ID, flags = SYNCED } = {}) {
    this.origin = origin;
    this.rpId = rpId;
    this.flags = flags;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKey = privateKey;
    this.jwk = publicKey.export({ format: "jwk" });
    this.credentialId = randomBytes(16);
    this.signCount = 0;
    this.userHandle = null;
  }

  get id() {
    return b64url(this.credentialId);
  }

  /** The COSE_Key of the public key: EC2, ES256, P-256. */
  coseKey() {
    return cbor(new Map([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(this.jwk.x, "base64url")], [-3, Buffer.from(this.jwk.y, "base64url")]]));
  }

  /** Answer PublicKeyCredentialCreationOptionsJSON with a RegistrationResponseJSON. */
  create(options, { origin } = {}) {
    this.userHandle = Buffer.from(options.user.id, "base64url");
    const clientData = this.clientData("webauthn.create", options.challenge, origin);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), length, this.credentialId, this.coseKey()]);
    const authData = Buffer.concat([this.authData(this.flags | AT), attested]);
    const attestation = cbor(new Map([["fmt", "none"], ["attStmt", new Map()], ["authData", authData]]));
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: { clientDataJSON: b64url(clientData), attestationObject: b64url(attestation), transports: ["internal", "hybrid"] },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** Answer PublicKeyCredentialRequestOptionsJSON with an AuthenticationResponseJSON. */
  get(options, { origin } = {}) {
    if (!(this.flags & BE)) this.signCount += 1;
    const clientData = this.clientData("webauthn.get", options.challenge, origin);
    const authData = this.authData(this.flags);
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientData)]), this.privateKey); // DER, as WebAuthn's ES256
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: this.userHandle ? b64url(this.userHandle) : null,
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  clientData(type, challenge, origin) {
    return Buffer.from(JSON.stringify({ type, challenge, origin: origin ?? this.origin, crossOrigin: false }));
  }

  authData(flags) {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.signCount);
    return Buffer.concat([sha256(this.rpId), Buffer.from([flags]), count]);
  }
}

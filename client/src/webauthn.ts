/**
 * WebAuthn Level 3's JSON forms, as the server sends and takes them and as React Native passkey
 * modules (`react-native-passkey` and the like), `PublicKeyCredential.toJSON()` and Android's
 * Credential Manager speak them: every binary member is a base64url string without padding.
 * Types only: the client runs no WebAuthn code of its own, the platform does.
 */

/** base64url without padding. */
export type Base64URLString = string;

export type PublicKeyCredentialType = "public-key";
export type AuthenticatorTransport = "ble" | "cable" | "hybrid" | "internal" | "nfc" | "smart-card" | "usb" | (string & {});
export type UserVerificationRequirement = "discouraged" | "preferred" | "required";
export type ResidentKeyRequirement = "discouraged" | "preferred" | "required";
export type AttestationConveyancePreference = "direct" | "enterprise" | "indirect" | "none";
export type AuthenticatorAttachment = "cross-platform" | "platform";

export interface PublicKeyCredentialRpEntity {
  /** Optional in WebAuthn; this server always sends it (`WEBAUTHN_RP_ID`). */
  id: string;
  name: string;
}

export interface PublicKeyCredentialUserEntityJSON {
  id: Base64URLString;
  name: string;
  displayName: string;
}

export interface PublicKeyCredentialParameters {
  type: PublicKeyCredentialType;
  /** A COSE algorithm: -7 ES256, -8 EdDSA, -257 RS256. */
  alg: number;
}

export interface PublicKeyCredentialDescriptorJSON {
  id: Base64URLString;
  type: PublicKeyCredentialType;
  transports?: AuthenticatorTransport[];
}

export interface AuthenticatorSelectionCriteria {
  authenticatorAttachment?: AuthenticatorAttachment;
  residentKey?: ResidentKeyRequirement;
  requireResidentKey?: boolean;
  userVerification?: UserVerificationRequirement;
}

/** What `registrationOptions` answers: hand it to the platform's "create a passkey". */
export interface PublicKeyCredentialCreationOptionsJSON {
  rp: PublicKeyCredentialRpEntity;
  user: PublicKeyCredentialUserEntityJSON;
  challenge: Base64URLString;
  pubKeyCredParams: PublicKeyCredentialParameters[];
  timeout?: number;
  excludeCredentials?: PublicKeyCredentialDescriptorJSON[];
  authenticatorSelection?: AuthenticatorSelectionCriteria;
  hints?: string[];
  attestation?: AttestationConveyancePreference;
  attestationFormats?: string[];
  extensions?: Record<string, unknown>;
}

/** What `authenticationOptions` answers: hand it to the platform's "sign in with a passkey". */
export interface PublicKeyCredentialRequestOptionsJSON {
  challenge: Base64URLString;
  timeout?: number;
  /** Optional in WebAuthn; this server always sends it (`WEBAUTHN_RP_ID`). */
  rpId: string;
  allowCredentials?: PublicKeyCredentialDescriptorJSON[];
  userVerification?: UserVerificationRequirement;
  hints?: string[];
  extensions?: Record<string, unknown>;
}

export interface AuthenticatorAttestationResponseJSON {
  clientDataJSON: Base64URLString;
  attestationObject: Base64URLString;
  authenticatorData?: Base64URLString;
  transports?: AuthenticatorTransport[];
  publicKeyAlgorithm?: number;
  publicKey?: Base64URLString;
}

/** What the platform's "create a passkey" returns: send it to `registerPasskey`. */
export interface RegistrationResponseJSON {
  id: Base64URLString;
  rawId: Base64URLString;
  type: PublicKeyCredentialType;
  response: AuthenticatorAttestationResponseJSON;
  authenticatorAttachment?: AuthenticatorAttachment | null;
  /** Required by WebAuthn; optional here, as some modules leave it out and the server accepts that. */
  clientExtensionResults?: Record<string, unknown>;
}

export interface AuthenticatorAssertionResponseJSON {
  clientDataJSON: Base64URLString;
  authenticatorData: Base64URLString;
  signature: Base64URLString;
  userHandle?: Base64URLString | null;
}

/** What the platform's "sign in with a passkey" returns: send it to `passkeyLogin`, or as a `passkey` proof. */
export interface AuthenticationResponseJSON {
  id: Base64URLString;
  rawId: Base64URLString;
  type: PublicKeyCredentialType;
  response: AuthenticatorAssertionResponseJSON;
  authenticatorAttachment?: AuthenticatorAttachment | null;
  /** Required by WebAuthn; optional here, as some modules leave it out and the server accepts that. */
  clientExtensionResults?: Record<string, unknown>;
}

/**
 * A passkey as the proof of a sensitive call (`passkey` in its body): the `challengeId` of
 * `passkeyProofOptions` (called signed in) and the platform's answer to its options.
 */
export interface PasskeyProof {
  challengeId: string;
  credential: AuthenticationResponseJSON;
}

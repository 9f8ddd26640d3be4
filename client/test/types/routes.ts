// Compile-time checks of the methods' types, run by `npm run typecheck`: each line fails to compile when a type drifts.
import type { MfaRequired, SignInResult } from "../../src/client.js";
import type { ServerErrorCode } from "../../src/errors.js";
import type { components } from "../../src/openapi.js";
import type { AnswerOf, BodyOf, CallOptions, DocumentedRoute, QueryOf, RouteMethods, RouteName } from "../../src/routes.js";
import type { AuthenticationResponseJSON, PasskeyProof, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from "../../src/webauthn.js";

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const t = <T extends true>(): T => true as T;

// Routes the server documents: types exactly as generated.
t<Equals<AnswerOf<"login">["authToken"], string>>();
t<Equals<BodyOf<"login">, { email: string; password: string; refreshToken?: string | null }>>();
t<Equals<QueryOf<"getAll">, { after?: string | null; limit?: number }>>();
t<Equals<AnswerOf<"getAll">["next"], string | null>>();
t<Equals<QueryOf<"me">, never>>();
t<Equals<BodyOf<"me">, never>>();
t<Equals<Parameters<RouteMethods["me"]>, [options?: CallOptions]>>();
t<Equals<Parameters<RouteMethods["endSession"]>[0], string>>();
t<Equals<Parameters<RouteMethods["changePassword"]>[0], { code?: string; currentPassword: string; newPassword: string }>>();

// Every route of the table is in the server's document: none is typed `never`.
t<Equals<DocumentedRoute, RouteName>>();

// The account and ID-token routes: types exactly as generated.
type Schemas = components["schemas"];
t<Equals<BodyOf<"updateMe">, { first?: string; last?: string }>>();
t<Equals<AnswerOf<"updateMe">, Schemas["MeResponse"]>>();
t<Equals<BodyOf<"resetPassword">, { code: string; email: string; mfaCode?: string; newPassword: string }>>();
t<Equals<BodyOf<"verifyEmail">, { code: string; email: string; password?: string }>>();
t<Equals<AnswerOf<"verifyEmail">, { passwordRemoved: boolean; success: boolean }>>();
// A passkey proof (`passkey`), accepted wherever a password is a proof, typed as the WebAuthn JSON it is.
t<Equals<BodyOf<"changeEmail">["passkey"], PasskeyProof | null | undefined>>();
t<Equals<BodyOf<"changeEmail">["newEmail"], string>>();
t<Equals<BodyOf<"changeEmail">["password"], string | null | undefined>>();
t<Equals<BodyOf<"changeEmail">["code"], string | undefined>>();
t<Equals<BodyOf<"deleteAccount">["passkey"], PasskeyProof | null | undefined>>();
t<Equals<BodyOf<"linkIdToken">["passkey"], PasskeyProof | null | undefined>>();
t<Equals<AnswerOf<"confirmEmailChange">, Schemas["MeResponse"]>>();
t<Equals<Omit<BodyOf<"deleteAccount">, "passkey">, Omit<Schemas["DeleteAccount"], "passkey">>>();
t<Equals<AnswerOf<"deleteAccount">, { success: boolean }>>();
t<Equals<BodyOf<"loginWithIdToken">["provider"], "google" | "apple">>();
t<Equals<AnswerOf<"loginWithIdToken">["created"], boolean>>();
t<Equals<AnswerOf<"loginWithIdToken">["authToken"], string>>();
t<Equals<Omit<BodyOf<"linkIdToken">, "passkey">, Omit<Schemas["LinkIdToken"], "passkey">>>();
t<Equals<BodyOf<"linkIdToken">["provider"], "google" | "apple">>();
t<Equals<AnswerOf<"identities">["identities"], Schemas["Identity"][]>>();
t<Equals<Parameters<RouteMethods["unlinkIdentity"]>, [argument: string, options?: CallOptions]>>();
t<Equals<Parameters<RouteMethods["identities"]>, [options?: CallOptions]>>();

// The second factor and passkeys: WebAuthn's JSON forms where the document says "any object".
t<Equals<BodyOf<"mfaVerify">, Schemas["MfaVerify"]>>();
t<Equals<AnswerOf<"mfaVerify">["recoveryCodesLeft"], number | undefined>>();
t<Equals<AnswerOf<"totpSetup">, Schemas["TotpSetupResponse"]>>();
t<Equals<AnswerOf<"totpEnable">, Schemas["TotpEnableResponse"]>>();
t<Equals<BodyOf<"mfaStepUp">["passkey"], PasskeyProof | null | undefined>>();
t<Equals<BodyOf<"totpDisable">["code"], string | undefined>>();
t<Equals<BodyOf<"totpSetup">["passkey"], PasskeyProof | null | undefined>>();
t<Equals<AnswerOf<"registrationOptions">["options"], PublicKeyCredentialCreationOptionsJSON>>();
t<Equals<AnswerOf<"authenticationOptions">["options"], PublicKeyCredentialRequestOptionsJSON>>();
t<Equals<AnswerOf<"passkeyProofOptions">["options"], PublicKeyCredentialRequestOptionsJSON>>();
t<Equals<BodyOf<"registerPasskey">["credential"], RegistrationResponseJSON>>();
t<Equals<BodyOf<"passkeyLogin">["credential"], AuthenticationResponseJSON>>();
t<Equals<AnswerOf<"passkeyLogin">, Schemas["LoginResponse"]>>();
t<Equals<Parameters<RouteMethods["renamePasskey"]>, [argument: string, body: { name: string }, options?: CallOptions]>>();
t<Equals<Parameters<RouteMethods["listPasskeys"]>, [options?: CallOptions]>>();
t<Equals<Parameters<RouteMethods["authenticationOptions"]>, [options?: CallOptions]>>();
t<Equals<Extract<SignInResult, { status: "mfaRequired" }>, MfaRequired>>();
t<Equals<Extract<SignInResult, { status: "signedIn" }>["authToken"], string>>();

// The server's error codes are the document's: a code the server adds or drops changes this type.
t<Equals<Extract<ServerErrorCode, "invalidCredentials" | "emailTaken">, "invalidCredentials" | "emailTaken">>();
t<Equals<ServerErrorCode, components["schemas"]["Error"]["code"]>>();

// Compile-time checks of the methods' types, run by `npm run typecheck`: each line fails to compile when a type drifts.
import type { ServerErrorCode } from "../../src/errors.js";
import type { components } from "../../src/openapi.js";
import type { AnswerOf, BodyOf, CallOptions, DocumentedRoute, QueryOf, RouteMethods, RouteName } from "../../src/routes.js";

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
// A passkey proof (`passkey`), accepted wherever a password is a proof.
type PasskeyProof = ({ challengeId: string; credential: { [key: string]: unknown } } & { [key: string]: unknown }) | null;
t<Equals<
  BodyOf<"changeEmail">,
  {
    code?: string;
    currentIdToken?: string | null;
    currentNonce?: string | null;
    newEmail: string;
    passkey?: PasskeyProof;
    password?: string | null;
  }
>>();
t<Equals<BodyOf<"deleteAccount">["passkey"], PasskeyProof | undefined>>();
t<Equals<BodyOf<"linkIdToken">["passkey"], PasskeyProof | undefined>>();
t<Equals<AnswerOf<"confirmEmailChange">, Schemas["MeResponse"]>>();
t<Equals<BodyOf<"deleteAccount">, Schemas["DeleteAccount"]>>();
t<Equals<AnswerOf<"deleteAccount">, { success: boolean }>>();
t<Equals<BodyOf<"loginWithIdToken">["provider"], "google" | "apple">>();
t<Equals<AnswerOf<"loginWithIdToken">["created"], boolean>>();
t<Equals<AnswerOf<"loginWithIdToken">["authToken"], string>>();
t<Equals<BodyOf<"linkIdToken">, Schemas["LinkIdToken"]>>();
t<Equals<BodyOf<"linkIdToken">["provider"], "google" | "apple">>();
t<Equals<AnswerOf<"identities">["identities"], Schemas["Identity"][]>>();
t<Equals<Parameters<RouteMethods["unlinkIdentity"]>, [argument: string, options?: CallOptions]>>();
t<Equals<Parameters<RouteMethods["identities"]>, [options?: CallOptions]>>();

// The server's error codes are the document's: a code the server adds or drops changes this type.
t<Equals<Extract<ServerErrorCode, "invalidCredentials" | "emailTaken">, "invalidCredentials" | "emailTaken">>();
t<Equals<ServerErrorCode, components["schemas"]["Error"]["code"]>>();

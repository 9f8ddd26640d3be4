// Compile-time checks of the methods' types, run by `npm run typecheck`: each line fails to compile when a type drifts.
import type { AnswerOf, BodyOf, CallOptions, QueryOf, RouteMethods } from "../../src/routes.js";

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
t<Equals<Parameters<RouteMethods["changePassword"]>[0], { currentPassword: string; newPassword: string }>>();

// Routes other branches are adding: loose checks, so that the generated types can take over.
t<Equals<NonNullable<AnswerOf<"updateMe">["user"]["emailVerified"]>, boolean>>();
t<NonNullable<AnswerOf<"identities">["identities"][number]["provider"]> extends string ? true : false>();
t<BodyOf<"loginWithIdToken"> extends { provider: string; idToken: string } ? true : false>();
t<AnswerOf<"loginWithIdToken"> extends { authToken: string; refreshToken: string } ? true : false>();

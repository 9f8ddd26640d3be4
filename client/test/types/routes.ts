// Compile-time checks of the methods' types, run by `npm run typecheck`: each line fails to compile when a type drifts.
import type { AnswerOf, BodyOf, QueryOf, RouteMethods } from "../../src/routes.js";
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const t = <T extends true>(): T => true as T;
t<Equals<AnswerOf<"login">["authToken"], string>>();
t<Equals<BodyOf<"login">, { email: string; password: string }>>();
t<Equals<QueryOf<"getAll">, { after?: string | null; limit?: number }>>();
t<Equals<QueryOf<"me">, never>>();
t<Equals<BodyOf<"me">, never>>();
t<Equals<NonNullable<AnswerOf<"updateMe">["user"]["emailVerified"]>, boolean>>();
t<Equals<Parameters<RouteMethods["endSession"]>[0], string>>();
t<Equals<Parameters<RouteMethods["me"]>, [options?: import("../../src/routes.js").CallOptions]>>();
t<Equals<Parameters<RouteMethods["changePassword"]>[0], { currentPassword: string; newPassword: string }>>();
t<Equals<AnswerOf<"identities">["identities"][number]["provider"], "google" | "apple">>();
t<Equals<AnswerOf<"getAll">["next"], string | null>>();

/**
 * The failure results of the request path (the status table in docs/authenticator.md), built once per authenticator and frozen.
 *
 * @module
 */
import { errorBody, type ApiKeyErrorBody } from "../errors.js";

/**
 * Why a request was refused. Goes to events and logs, never to the client.
 *
 * @example
 * ```ts
 * import type { ApiKeyAuthFailureReason } from "@fluenzr/api-keys";
 * const refused = new Map<ApiKeyAuthFailureReason, number>(); // e.g. "unknown" → 12, "revoked" → 3
 * const result = await auth.authenticate({ authorization: req.headers.authorization, method: req.method ?? "GET" });
 * if (!result.ok) refused.set(result.reason, (refused.get(result.reason) ?? 0) + 1);
 * // the client never learns it: every 401 answer is the same
 * ```
 */
export type ApiKeyAuthFailureReason =
  | "missing"
  | "scheme"
  | "malformed"
  | "format"
  | "checksum"
  | "unknown"
  | "revoked"
  | "expired"
  | "environment"
  | "account"
  | "plan"
  | "permission"
  | "unavailable";

/**
 * A refused request: answer with `status`, `headers` and `body` as JSON.
 *
 * @example
 * ```ts
 * import type { ApiKeyAuthFailure } from "@fluenzr/api-keys";
 * import type { ServerResponse } from "node:http";
 * function refuse(res: ServerResponse, failure: ApiKeyAuthFailure): void {
 *   res.writeHead(failure.status, { ...failure.headers, "content-type": "application/json" });
 *   res.end(JSON.stringify(failure.body)); // {"success":false,"error":{"code":"UNAUTHORIZED","message":"Invalid or missing API key"}}
 * }
 * const result = await auth.authenticate({ authorization: req.headers.authorization, method: req.method ?? "GET" });
 * if (!result.ok) refuse(res, result); // result.reason ("revoked", …) is for your logs only
 * ```
 */
export interface ApiKeyAuthFailure {
  readonly ok: false;
  readonly status: 401 | 403 | 503;
  readonly body: ApiKeyErrorBody;
  readonly headers: Readonly<Record<string, string>>;
  readonly reason: ApiKeyAuthFailureReason;
}

/**
 * The 401 message, the same for every 401 case so the client learns nothing.
 *
 * @example
 * ```ts
 * import { UNAUTHORIZED_MESSAGE } from "@fluenzr/api-keys";
 * if (!result.ok && result.status === 401) console.assert(result.body.error.message === UNAUTHORIZED_MESSAGE);
 * ```
 */
export const UNAUTHORIZED_MESSAGE = "Invalid or missing API key";
/**
 * The 403 message for a key without the permission (a read-only key on a write).
 *
 * @example
 * ```ts
 * import { PERMISSION_MESSAGE } from "@fluenzr/api-keys";
 * const readOnlyRefused = !result.ok && result.body.error.message === PERMISSION_MESSAGE;
 * ```
 */
export const PERMISSION_MESSAGE = "API key does not have the required permissions";
/**
 * The 503 message, when the store or the plan lookup failed or timed out.
 *
 * @example
 * ```ts
 * import { UNAVAILABLE_MESSAGE } from "@fluenzr/api-keys";
 * const storeDown = !result.ok && result.body.error.message === UNAVAILABLE_MESSAGE;
 * ```
 */
export const UNAVAILABLE_MESSAGE = "Authentication is temporarily unavailable";

function freeze(result: ApiKeyAuthFailure): ApiKeyAuthFailure {
  Object.freeze(result.body.error);
  Object.freeze(result.body);
  Object.freeze(result.headers);
  return Object.freeze(result);
}

/** Build every failure result for one realm, plan name and Retry-After. @internal */
export function buildFailures(
  realm: string,
  planName: string,
  retryAfterSeconds: number,
): Readonly<Record<ApiKeyAuthFailureReason, ApiKeyAuthFailure>> {
  const challenge = `Bearer realm="${realm}"`;
  const unauthorized = (reason: ApiKeyAuthFailureReason, error?: string): ApiKeyAuthFailure =>
    freeze({
      ok: false,
      status: 401,
      body: errorBody("UNAUTHORIZED", UNAUTHORIZED_MESSAGE),
      headers: { "WWW-Authenticate": error === undefined ? challenge : `${challenge}, error="${error}"` },
      reason,
    });
  return Object.freeze({
    missing: unauthorized("missing"),
    scheme: unauthorized("scheme"),
    malformed: unauthorized("malformed", "invalid_request"),
    format: unauthorized("format", "invalid_token"),
    checksum: unauthorized("checksum", "invalid_token"),
    unknown: unauthorized("unknown", "invalid_token"),
    revoked: unauthorized("revoked", "invalid_token"),
    expired: unauthorized("expired", "invalid_token"),
    environment: unauthorized("environment", "invalid_token"),
    account: unauthorized("account", "invalid_token"),
    plan: freeze({
      ok: false,
      status: 403,
      body: errorBody("FORBIDDEN", `API access requires ${planName} plan`),
      headers: {},
      reason: "plan",
    }),
    permission: freeze({
      ok: false,
      status: 403,
      body: errorBody("FORBIDDEN", PERMISSION_MESSAGE),
      headers: { "WWW-Authenticate": `${challenge}, error="insufficient_scope"` },
      reason: "permission",
    }),
    unavailable: freeze({
      ok: false,
      status: 503,
      body: errorBody("SERVICE_UNAVAILABLE", UNAVAILABLE_MESSAGE),
      headers: { "Retry-After": String(retryAfterSeconds) },
      reason: "unavailable",
    }),
  });
}

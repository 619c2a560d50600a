/**
 * What every adapter hands the core, read the same way whatever the framework.
 * Adapters only translate: these helpers decide nothing about keys.
 *
 * @module
 */
import { errorBody } from "../../errors.js";
import { UNAVAILABLE_MESSAGE, type ApiKeyAuthFailure } from "../../auth/responses.js";
import { checkNow, type CheckNow } from "../../auth/check-now.js";
import type { ApiKeyAuth, ApiKeyAuthRequest, ApiKeyAuthResult } from "../../auth/create-api-key-auth.js";
import { invalidOption } from "../../errors.js";
import { dropRejection, isThenable } from "../../lib/thenable.js";

export { dropRejection };

/**
 * Every Authorization line of a Node `rawHeaders` list (name, value, name, value, …).
 * Node's parsed `headers` keeps only the first Authorization line, so a request with two would
 * look valid there; the core must see both to refuse it. @internal
 */
export function authorizationLines(rawHeaders: readonly string[] | undefined): string | string[] | undefined {
  if (rawHeaders === undefined) return undefined;
  let first: string | undefined;
  let all: string[] | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    // Cheap length test first: most header names are not 13 characters long.
    if (name.length !== 13 || name.toLowerCase() !== "authorization") continue;
    const value = rawHeaders[i + 1] as string;
    if (first === undefined) first = value;
    else (all ??= [first]).push(value);
  }
  return all ?? first;
}

/**
 * The answer when the authenticator itself misbehaves (it never should: it returns results).
 * Same envelope as a store outage: fail closed with 503. @internal
 */
export const FALLBACK_FAILURE: ApiKeyAuthFailure = Object.freeze({
  ok: false,
  status: 503,
  body: Object.freeze(errorBody("SERVICE_UNAVAILABLE", UNAVAILABLE_MESSAGE)),
  headers: Object.freeze({ "Retry-After": "1" }),
  reason: "unavailable",
}) as ApiKeyAuthFailure;

// Failure results are frozen singletons per authenticator, so each body is serialised once.
const serialised = new WeakMap<object, string>();

/** The JSON text of a failure's body, cached per (frozen, shared) failure object. @internal */
export function failureJson(failure: ApiKeyAuthFailure): string {
  let text = serialised.get(failure);
  if (text === undefined) {
    text = JSON.stringify(failure.body);
    serialised.set(failure, text);
  }
  return text;
}

/** Check the authenticator argument at setup, naming it. @internal */
export function requireAuth(auth: unknown, option: string): ApiKeyAuth {
  if (typeof auth !== "object" || auth === null || typeof (auth as ApiKeyAuth).authenticate !== "function") {
    invalidOption(option, "expected the authenticator from createApiKeyAuth()");
  }
  return auth as ApiKeyAuth;
}

/** Check an optional predicate option at setup, naming it. @internal */
export function optionalFunction<F>(value: unknown, option: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") invalidOption(option, "expected a function");
  return value as F;
}

/** Check that the options argument is an object (or absent). @internal */
export function optionsObject(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined) return {};
  // An array is an object too, but never options: `apiKeyAuth(auth, ["/health"])` opens nothing.
  if (typeof value !== "object" || value === null || Array.isArray(value)) invalidOption(what, "expected an options object");
  return value as Record<string, unknown>;
}

/**
 * Run a user's `skip` predicate; if it throws, the route stays protected (fail closed). Only
 * `true` opens a route: an async predicate answers a promise, so the route stays protected, and
 * that promise's rejection is dropped rather than left unhandled (which would end the process).
 * @internal
 */
export function shouldSkip<T>(skip: ((input: T) => boolean) | undefined, input: T): boolean {
  if (skip === undefined) return false;
  try {
    const answer: unknown = skip(input);
    if (answer === true) return true;
    if (answer !== false) dropRejection(answer);
    return false;
  } catch {
    return false;
  }
}


/** Refuse option names the adapter does not know (a typo would otherwise silently do nothing). @internal */
export { checkOptionNames as rejectUnknownOptions } from "../../errors.js";

/**
 * The result as the adapter will use it. The core always returns a well-formed result; anything
 * else (a stand-in authenticator, a bug) becomes the 503 envelope rather than a framework error.
 * @internal
 */
export function checkedResult(result: unknown): ApiKeyAuthResult {
  const r = result as ApiKeyAuthResult | null | undefined;
  if (typeof r === "object" && r !== null) {
    if (r.ok === true && typeof r.key === "object" && r.key !== null) return r;
    if (r.ok === false && typeof r.status === "number" && typeof r.body === "object" && typeof r.headers === "object") return r;
  }
  return FALLBACK_FAILURE;
}

/**
 * Run the authenticator: a checked result at once when it answered without waiting (see
 * `checkNow`), else a promise of one that never rejects (a rejection or a malformed answer is
 * the 503 fallback). An authenticator that is not ours (a wrapper, a test double), or one whose
 * `authenticate` was replaced, goes through its `authenticate`. Throws nothing.
 * @internal
 */
export function runAuth(auth: ApiKeyAuth, request: ApiKeyAuthRequest): ApiKeyAuthResult | Promise<ApiKeyAuthResult> {
  let outcome: unknown;
  try {
    const fast = (auth as { [checkNow]?: CheckNow<ApiKeyAuthRequest, ApiKeyAuthResult> })[checkNow];
    outcome =
      fast !== undefined && fast !== null && fast.authenticate === auth.authenticate ? fast.check(request) : auth.authenticate(request);
  } catch {
    return FALLBACK_FAILURE;
  }
  if (isThenable(outcome)) return Promise.resolve(outcome).then(checkedResult, () => FALLBACK_FAILURE);
  return checkedResult(outcome);
}

/**
 * What every adapter hands the core, read the same way whatever the framework.
 * Adapters only translate: these helpers decide nothing about keys.
 *
 * @module
 */
import { errorBody } from "../../errors.js";
import { UNAVAILABLE_MESSAGE, type ApiKeyAuthFailure } from "../../auth/responses.js";
import { checkNow, type CheckNow } from "../../auth/check-now.js";
import type { ApiKeyAuth, ApiKeyAuthRequest, ApiKeyAuthResult, AuthenticatedApiKey } from "../../auth/create-api-key-auth.js";
import { invalidOption } from "../../errors.js";
import { dropRejection, isThenable } from "../../lib/thenable.js";

export { dropRejection };

/**
 * Every Authorization line of a Node `rawHeaders` list (name, value, name, value, …).
 * Node's parsed `headers` keeps only the first Authorization line, so a request with two would
 * look valid there; the core must see both to refuse it.
 *
 * Node also stops keeping header lines past the server's `maxHeadersCount` (1000 by default),
 * silently: an Authorization line past that point is never seen. A request whose lines may have
 * been cut there (`socket` tells which server's limit applies) is handed on as two lines, so it
 * is refused as malformed, never judged on the lines that happened to be kept. @internal
 */
export function authorizationLines(rawHeaders: readonly string[] | undefined, socket?: unknown): string | string[] | undefined {
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
  // Node keeps every line of a request with up to 31 header lines whatever the limit, and cuts
  // longer ones at 31 lines (62 entries) when the limit is lower than that, or at a later batch
  // past it: a request with fewer entries is never cut, so the limit is only looked up from there.
  if (rawHeaders.length >= 62 && rawHeaders.length >= rawHeaderLimit(socket)) return [first ?? "", ""];
  return all ?? first;
}

/**
 * How many `rawHeaders` entries (names and values) Node keeps for a request on the server behind
 * `socket`: `maxHeadersCount` × 2 when that is a number (none at all for 0 or less), else Node's
 * default of 2000. A server that cannot be read gets the default.
 */
function rawHeaderLimit(socket: unknown): number {
  let count: unknown;
  try {
    count = (socket as { server?: { maxHeadersCount?: unknown } } | null | undefined)?.server?.maxHeadersCount;
  } catch {
    count = undefined;
  }
  if (typeof count !== "number") return 2000;
  const entries = count << 1; // as Node computes it
  return entries > 0 ? entries : Number.POSITIVE_INFINITY;
}

/**
 * What the adapters' request facts share: the client's address, read when the core writes the
 * event, or read early ({@link runAuth} does, for a request whose answer waits for the store):
 * the event is then written after that wait, and once a client has hung up Node no longer knows
 * its address, so a key-guessing client that closes each connection early would reach events
 * (and the usage monitor's bursts by address) with none. @internal
 */
export abstract class ClientAddressFacts {
  /** The address read early; `undefined` until then, or if reading it threw (read again later). */
  private pinned: { readonly ip: string | undefined } | undefined;

  get ip(): string | undefined {
    return this.pinned !== undefined ? this.pinned.ip : this.readIp();
  }

  /** Read the address now, while the connection is open. */
  pinIp(): void {
    try {
      this.pinned = { ip: this.readIp() };
    } catch {
      this.pinned = undefined;
    }
  }

  /** The address as the framework gives it (may throw: the core then leaves it out). */
  protected abstract readIp(): string | undefined;
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
    try {
      if (r.ok === true && typeof r.key === "object" && r.key !== null) return r;
      if (r.ok === false && typeof r.status === "number" && typeof r.body === "object" && typeof r.headers === "object") return r;
    } catch {
      // A result whose fields throw when read (a getter, a revoked Proxy) is no answer either.
    }
  }
  return FALLBACK_FAILURE;
}

/**
 * A result from an authenticator that is not ours (a wrapper, a test double), read once into a
 * plain object: a getter that throws, or answers differently on a second read, cannot make the
 * adapter fail or change its mind half-way. Anything malformed is the 503 fallback. @internal
 */
export function copiedResult(result: unknown): ApiKeyAuthResult {
  try {
    const r = result as Record<string, unknown> | null | undefined;
    if (typeof r !== "object" || r === null) return FALLBACK_FAILURE;
    const ok = r["ok"];
    if (ok === true) {
      const key = r["key"];
      return typeof key === "object" && key !== null ? { ok: true, key: key as AuthenticatedApiKey } : FALLBACK_FAILURE;
    }
    if (ok !== false) return FALLBACK_FAILURE;
    const status = r["status"];
    const body = r["body"];
    const headers = r["headers"];
    if (typeof status !== "number" || typeof body !== "object" || body === null || typeof headers !== "object" || headers === null) {
      return FALLBACK_FAILURE;
    }
    const copied: Record<string, string> = {};
    for (const name of Object.keys(headers)) copied[name] = String((headers as Record<string, unknown>)[name]);
    return Object.freeze({ ok: false, status, body, headers: Object.freeze(copied), reason: r["reason"] }) as ApiKeyAuthFailure;
  } catch {
    return FALLBACK_FAILURE;
  }
}

/**
 * Run the authenticator: a checked result at once when it answered without waiting (see
 * `checkNow`), else a promise of one that never rejects (a rejection or a malformed answer is
 * the 503 fallback). An authenticator that is not ours (a wrapper, a test double), or one whose
 * `authenticate` was replaced, goes through its `authenticate`, and its answer is read once into
 * a result of our own ({@link copiedResult}). Throws nothing.
 * @internal
 */
export function runAuth(auth: ApiKeyAuth, request: ApiKeyAuthRequest): ApiKeyAuthResult | Promise<ApiKeyAuthResult> {
  let outcome: unknown;
  let ours = false;
  try {
    const fast = (auth as { [checkNow]?: CheckNow<ApiKeyAuthRequest, ApiKeyAuthResult> })[checkNow];
    ours = fast !== undefined && fast !== null && fast.authenticate === auth.authenticate;
    outcome = ours ? (fast as CheckNow<ApiKeyAuthRequest, ApiKeyAuthResult>).check(request) : auth.authenticate(request);
  } catch {
    return FALLBACK_FAILURE;
  }
  const read = ours ? checkedResult : copiedResult;
  if (isThenable(outcome)) {
    if (request instanceof ClientAddressFacts) request.pinIp();
    return Promise.resolve(outcome).then(read, () => FALLBACK_FAILURE);
  }
  return read(outcome);
}

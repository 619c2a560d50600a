/**
 * The request path (docs/authenticator.md): header syntax → key format and checksum → hash → store lookup →
 * revoked / expired / wrong environment → account plan → permission. Each step is cheaper than
 * the next, and any error, rejection or timeout on the way gives 503: it fails closed.
 *
 * @module
 */
import { z } from "zod";
import { invalidOption } from "../errors.js";
import { getDefaultKeyFormat, hintOf, type KeyFormat } from "../format/key-format.js";
import { failureOf, keyCheckOf, UNTAGGED } from "../format/parse-api-key.js";
import { constantTimeEqual, latin1ToHex } from "../hash/digest.js";
import { digestWith, normalizePeppers, schemeOf, type Pepper, type PepperOption } from "../hash/hash-api-key.js";
import {
  accountsSchema,
  apiPlansSchema,
  checkClockReading,
  clockSchema,
  displayPlanName,
  formatSchema,
  functionSchema,
  MAX_TIMER_MS,
  parseOptions,
  pepperSchema,
  storeSchema,
  systemClock,
  timeLimits,
  timeoutsSchema,
} from "../lib/options.js";
import { dateTime, type ApiKeyPermissions, type ApiKeyRecord, type KeyStore } from "../store/key-store.js";
import { MemoryKeyStore, syncLookup } from "../store/memory-key-store.js";
import { bearerStart, isB64token, soleLine } from "./authorization-header.js";
import { dropRejection } from "../lib/thenable.js";
import { checkNow } from "./check-now.js";
import { revokedAtTime } from "./revoked.js";
import { eventPath, redactKeys } from "./event-text.js";
import { Deadlines } from "./deadline.js";
import { buildFailures, type ApiKeyAuthFailure, type ApiKeyAuthFailureReason } from "./responses.js";
import { UsageRecorder } from "./usage-recorder.js";
import { cacheSchema, VerificationCache, type VerificationCacheOptions } from "./verification-cache.js";

/**
 * Looks up the plan of the account that owns a key: sync or async; `null` for an unknown account.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, type AccountPlans } from "@fluenzr/api-keys";
 * const accounts: AccountPlans = {
 *   getPlan: async (accountId) => (await db.accounts.findById(accountId))?.plan ?? null, // null: unknown account (401)
 * };
 * const auth = createApiKeyAuth({ store, accounts, apiPlans: ["pro", "team"] });
 * // a key of a "free" account: 403 "API access requires Pro plan"
 * ```
 */
export interface AccountPlans {
  getPlan(accountId: string): string | null | undefined | Promise<string | null | undefined>;
}

/**
 * Options of {@link createApiKeyAuth}. Checked once; a bad one throws `INVALID_OPTIONS` naming it.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, type ApiKeyAuthOptions } from "@fluenzr/api-keys";
 * const options: ApiKeyAuthOptions = {
 *   store, environment: "prod",            // only flz_sk_prod_ keys
 *   pepper: { version: "1", secret: process.env.API_KEY_PEPPER! },
 *   timeouts: 500,                         // ms for the store and the plan lookup; past it, 503
 *   cache: { ttlMs: 60_000, max: 10_000 },
 * };
 * const auth = createApiKeyAuth(options);
 * ```
 */
export interface ApiKeyAuthOptions {
  /** Where keys are stored. */
  store: KeyStore;
  /** Plan lookup. Without it there is no plan gating. */
  accounts?: AccountPlans | undefined;
  /** Plans with API access. Default `["pro"]`. */
  apiPlans?: readonly string[] | undefined;
  /** Plan named in the 403 message. Default: the first of `apiPlans`, capitalised ("Pro"). */
  planName?: string | undefined;
  /** Accept only keys tagged with this environment (e.g. `"prod"` on production servers). */
  environment?: string | undefined;
  /** Server-side pepper(s); see {@link hashApiKey}. A list is tried current first, then older. */
  pepper?: PepperOption | undefined;
  /** Key format. Default: {@link getDefaultKeyFormat}. */
  format?: KeyFormat | undefined;
  /** Realm of the `WWW-Authenticate` challenge. Default `"api"`. */
  realm?: string | undefined;
  /**
   * Called once per request with its outcome. Never given the key. Errors it throws, and
   * rejections of a promise it returns, are ignored.
   */
  onEvent?: ((event: ApiKeyAuthEvent) => void) | undefined;
  /**
   * Time limits in ms for the store and the plan lookup (default 2000 each); a number sets both.
   * Past the limit the request gets 503.
   */
  timeouts?: number | { storeMs?: number | undefined; accountsMs?: number | undefined } | undefined;
  /** At most one last-used write per key per this many ms. Default 60000. */
  lastUsedIntervalMs?: number | undefined;
  /**
   * Given every last-used write the authenticator starts in the background, for runtimes that
   * stop a request's work once it has answered: on Cloudflare Workers pass `waitUntil` from
   * `cloudflare:workers`. Not needed on Node, Bun or Deno. Errors it throws are ignored.
   */
  waitUntil?: ((work: Promise<unknown>) => unknown) | undefined;
  /** `Retry-After` seconds on 503 answers. Default 1. */
  retryAfterSeconds?: number | undefined;
  /** Time source for expiry, revocation and last used. Default `Date.now`. */
  clock?: { now(): number } | undefined;
  /**
   * Keep lookups in memory (see docs/verification-cache.md). Found keys are dropped on the
   * store's revocation announcements, and the cache is bypassed while the announcement channel
   * is down; a store without announcements caches found keys only with `maxStalenessMs`.
   */
  cache?: VerificationCacheOptions | undefined;
}

/**
 * What a request tells the authenticator.
 *
 * @example
 * ```ts
 * import type { ApiKeyAuthRequest } from "@fluenzr/api-keys";
 * import type { IncomingMessage } from "node:http";
 * const requestOf = (req: IncomingMessage): ApiKeyAuthRequest => ({
 *   authorization: req.headersDistinct.authorization, // every line: several are refused (malformed)
 *   method: req.method ?? "GET",
 *   ip: req.socket.remoteAddress, userAgent: req.headers["user-agent"], path: req.url, // for events only
 * });
 * const result = await auth.authenticate(requestOf(req));
 * ```
 */
export interface ApiKeyAuthRequest {
  /** Every raw Authorization header line: a string, all lines as an array, or `undefined`. */
  authorization: string | readonly string[] | undefined | null;
  /** HTTP method, e.g. `"GET"`. Read-only keys pass only GET, HEAD and OPTIONS. */
  method: string;
  /** Client address, for events. */
  ip?: string | undefined;
  /** User agent, for events (a key-shaped run in it is redacted). */
  userAgent?: string | undefined;
  /** Request path, for events: `req.url` will do; its query string is dropped and a key-shaped run redacted. */
  path?: string | undefined;
}

/**
 * The verified key a request carries (no hash, no plaintext).
 *
 * @example
 * ```ts
 * import type { AuthenticatedApiKey } from "@fluenzr/api-keys";
 * const label = (apiKey: AuthenticatedApiKey): string => `${apiKey.name} (${apiKey.hint}, ${apiKey.permissions})`;
 * const result = await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" });
 * if (result.ok) label(result.key); // "CI (flz_sk_prod_…Xy4z, all)"
 * // result.key: { id: "key_…", accountId: "acc_1", name: "CI", environment: "prod", permissions: "all", hint: "flz_sk_prod_…Xy4z" }
 * ```
 */
export interface AuthenticatedApiKey {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly environment: string | null;
  readonly permissions: ApiKeyPermissions;
  readonly hint: string;
}

/**
 * An accepted request.
 *
 * @example
 * ```ts
 * import type { ApiKeyAuthSuccess } from "@fluenzr/api-keys";
 * const result = await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" });
 * if (result.ok) {
 *   const success: ApiKeyAuthSuccess = result; // narrowed by `ok`
 *   success.key.accountId; // "acc_1"
 * }
 * ```
 */
export interface ApiKeyAuthSuccess {
  readonly ok: true;
  readonly key: AuthenticatedApiKey;
}

/**
 * The outcome of {@link ApiKeyAuth.authenticate}.
 *
 * @example
 * ```ts
 * import type { ApiKeyAuthResult } from "@fluenzr/api-keys";
 * const result: ApiKeyAuthResult = await auth.authenticate({ authorization: req.headers.authorization, method: req.method ?? "GET" });
 * if (result.ok) console.log(result.key.accountId); // ApiKeyAuthSuccess: "acc_1"
 * else res.writeHead(result.status, { ...result.headers, "content-type": "application/json" }).end(JSON.stringify(result.body));
 * ```
 */
export type ApiKeyAuthResult = ApiKeyAuthSuccess | ApiKeyAuthFailure;

/**
 * One request's outcome, for logs, metrics and the usage monitor. Never carries the key.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, type ApiKeyAuthEvent } from "@fluenzr/api-keys";
 * function logRefusal(event: ApiKeyAuthEvent): void {
 *   if (!event.ok) logger.warn({ reason: event.reason, keyId: event.keyId, hint: event.hint, ip: event.ip }, "API key refused");
 * }
 * const auth = createApiKeyAuth({ store, onEvent: logRefusal });
 * // a revoked key: { ok: false, reason: "revoked", status: 401, keyId: "key_…", hint: "flz_sk_prod_…Xy4z", revokedReason: "revoked", … }
 * ```
 */
export interface ApiKeyAuthEvent {
  /** Accepted or not. */
  readonly ok: boolean;
  /** `"ok"`, or why it was refused. */
  readonly reason: "ok" | ApiKeyAuthFailureReason;
  /** Status answered: 200 for accepted. */
  readonly status: number;
  /** Id of the stored key, when the key was found. */
  readonly keyId: string | null;
  /** Hint of the presented key (prefix and last 4), when it had our format. */
  readonly hint: string | null;
  /** Owner of the key, when found. */
  readonly accountId: string | null;
  /** For a revoked key: `"revoked"` or `"rotated"`. */
  readonly revokedReason: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly method: string | null;
  readonly path: string | null;
  readonly time: Date;
}

/**
 * The authenticator.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, type ApiKeyAuth } from "@fluenzr/api-keys";
 * const auth: ApiKeyAuth = createApiKeyAuth({ store });
 * auth.realm; // "api"
 * await auth.authenticate({ authorization: "Bearer flz_sk_oops", method: "GET" }); // { ok: false, status: 401, reason: "format", … }
 * await auth.close(); // on shutdown: writes pending last-used times
 * ```
 */
export interface ApiKeyAuth {
  /** Check one request. Never throws for a bad key or a failing store: those are results. */
  authenticate(request: ApiKeyAuthRequest): Promise<ApiKeyAuthResult>;
  /** Write pending last-used times now and stop background timers. It stays usable. */
  close(): Promise<void>;
  /** The options in force (realm, environment, plans), for adapters. */
  readonly realm: string;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** `request[field]` if it is a string; `null` otherwise, also when reading it throws. */
function requestText(request: ApiKeyAuthRequest | undefined, field: "ip" | "userAgent" | "method" | "path"): string | null {
  try {
    const value: unknown = request?.[field];
    return typeof value === "string" ? value : null;
  } catch {
    return null;
  }
}
const REALM = /^[\x20-\x7e]{1,100}$/;

const schema = z.strictObject({
  store: storeSchema,
  accounts: accountsSchema.optional(),
  apiPlans: apiPlansSchema.optional(),
  planName: z.string().min(1).max(100).optional(),
  environment: z.string().min(1).optional(),
  pepper: pepperSchema.optional(),
  format: formatSchema.optional(),
  realm: z
    .string()
    .regex(REALM, "1 to 100 printable ASCII characters")
    .refine((r) => !r.includes('"') && !r.includes("\\"), "no quotes or backslashes")
    .optional(),
  onEvent: functionSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  lastUsedIntervalMs: z.number().int().positive().max(MAX_TIMER_MS).optional(),
  waitUntil: functionSchema.optional(),
  retryAfterSeconds: z.number().int().nonnegative().optional(),
  clock: clockSchema.optional(),
  cache: cacheSchema.optional(),
});

/** A real Date of any realm, an Invalid Date included (it then counts as revoked or expired: fails closed). */
const isDate = (v: unknown): v is Date => dateTime(v) !== null;
const isDateOrNull = (v: unknown): boolean => v === null || isDate(v);
const isTextOrNull = (v: unknown): boolean => v === null || typeof v === "string";

/**
 * Does a store's answer have every field the request path reads, of the right kind? Fields it
 * does not read (`createdBy`, `lastUsedAt`, `rotatedFromId`, `metadata`) are not checked here.
 */
function isWholeRecord(r: unknown): r is ApiKeyRecord {
  if (typeof r !== "object" || r === null) return false;
  const x = r as Record<keyof ApiKeyRecord, unknown>;
  return (
    typeof x.id === "string" &&
    x.id !== "" &&
    typeof x.accountId === "string" &&
    typeof x.name === "string" &&
    typeof x.hash === "string" &&
    typeof x.hint === "string" &&
    isTextOrNull(x.environment) &&
    (x.permissions === "all" || x.permissions === "read-only") &&
    isDate(x.createdAt) &&
    isDateOrNull(x.revokedAt) &&
    (x.revokedReason === undefined || isTextOrNull(x.revokedReason)) &&
    isDateOrNull(x.expiresAt)
  );
}

/** A Date read once by its time (a copy), or the value as it is for the record check to refuse. */
function ownDate(value: unknown): unknown {
  const t = dateTime(value);
  return t === null ? value : new Date(t);
}

/**
 * A store's answer copied field by field, each read once (a getter that throws throws here, as a
 * store fault). Fields the request path does not read are copied as they are.
 */
function ownRecord(answer: object): ApiKeyRecord {
  const x = answer as Record<keyof ApiKeyRecord, unknown>;
  return {
    id: x.id,
    accountId: x.accountId,
    name: x.name,
    hash: x.hash,
    hint: x.hint,
    environment: x.environment,
    permissions: x.permissions,
    createdAt: ownDate(x.createdAt),
    createdBy: x.createdBy,
    lastUsedAt: ownDate(x.lastUsedAt),
    revokedAt: ownDate(x.revokedAt),
    revokedReason: x.revokedReason,
    expiresAt: ownDate(x.expiresAt),
    rotatedFromId: x.rotatedFromId,
    metadata: x.metadata,
  } as ApiKeyRecord;
}

/**
 * Create the authenticator that every adapter uses. Options are checked here, once.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, MemoryKeyStore } from "@fluenzr/api-keys";
 * const auth = createApiKeyAuth({
 *   store: new MemoryKeyStore(),
 *   accounts: { getPlan: (accountId) => db.plans.get(accountId) ?? null },
 *   environment: "prod",
 *   onEvent: (event) => logger.info(event),
 * });
 * const result = await auth.authenticate({ authorization: req.headers.authorization, method: "GET" });
 * if (!result.ok) res.writeHead(result.status, { ...result.headers, "content-type": "application/json" })
 *   .end(JSON.stringify(result.body));
 * ```
 */
export function createApiKeyAuth(options: ApiKeyAuthOptions): ApiKeyAuth {
  const o = parseOptions(schema, options, "createApiKeyAuth");
  const format = o.format ?? getDefaultKeyFormat();
  const checkKey = keyCheckOf(format);
  if (o.environment !== undefined && !format.environments.includes(o.environment))
    invalidOption("environment", `expected one of ${format.environments.join(", ") || "(none)"}`);
  const peppers: readonly (Pepper | undefined)[] = (() => {
    const list = normalizePeppers(o.pepper as PepperOption | undefined);
    return list.length === 0 ? [undefined] : list;
  })();
  // A stored hash is scheme + digest ("sha256:" + hex); each pepper's scheme is built once.
  const schemes = peppers.map(schemeOf);
  const store = o.store;
  const accounts = o.accounts as AccountPlans | undefined;
  const apiPlans = new Set(o.apiPlans ?? ["pro"]);
  const planName = o.planName ?? displayPlanName(o.apiPlans?.[0] ?? "pro");
  const realm = o.realm ?? "api";
  const clock = o.clock ?? systemClock;
  if (o.clock !== undefined) checkClockReading(o.clock);
  const onEvent = o.onEvent as ((event: ApiKeyAuthEvent) => void) | undefined;
  const { storeMs, accountsMs } = timeLimits(o.timeouts);
  const failures = buildFailures(realm, planName, o.retryAfterSeconds ?? 1);
  const deadlines = new Deadlines();
  // Last-used writes get the store's time limit too: a write that never answers must not hold
  // back later ones, nor keep close() from resolving.
  const usage = new UsageRecorder(store, o.lastUsedIntervalMs ?? 60_000, (write) => deadlines.limit(write, storeMs), o.waitUntil as ((work: Promise<unknown>) => unknown) | undefined);
  const environmentIndex = o.environment === undefined ? null : format.environments.indexOf(o.environment);
  // A plain MemoryKeyStore is read without a promise. Checked per call: a subclass, or a test that
  // replaces getByHash (to make it fail, say), goes through getByHash like any other store.
  const memory = store instanceof MemoryKeyStore ? store : null;
  const memoryGetByHash = MemoryKeyStore.prototype.getByHash;

  // A record from a store is accepted only if its hash equals ours, compared in constant time
  // (a store with a case-insensitive or collated index must not hand back a near match). The
  // memory store's Map and the cache are keyed by the exact hash, so they need no second look.
  // Anything else a store answers that is not a whole record is a store fault (503), not a key:
  // a record missing its account or permissions, or with an expiry that is not a Date, must not
  // be judged by the fields it happens to have.
  const verified = (answer: ApiKeyRecord | null | undefined, hash: string): ApiKeyRecord | null => {
    if (answer === null || answer === undefined) return null;
    // Read once into a record of our own: a store's object whose getters (an ORM row, a Proxy)
    // answer differently, or throw, on a second read cannot be judged on one value and answered
    // with another, nor fail after the request's event was sent.
    const r = ownRecord(answer);
    if (!isWholeRecord(r)) throw new TypeError("the store answered something that is not a key record");
    return constantTimeEqual(r.hash, hash) ? r : null;
  };
  const storeLookup = (scheme: string, digest: string): ApiKeyRecord | null | Promise<ApiKeyRecord | null> => {
    if (memory !== null && memory.getByHash === memoryGetByHash) return memory[syncLookup](scheme, digest);
    const hash = scheme + latin1ToHex(digest);
    const found = deadlines.limit(store.getByHash(hash), storeMs);
    return found instanceof Promise ? found.then((r) => verified(r, hash)) : verified(found, hash);
  };
  // Nothing subscribes until the first request: creating an authenticator opens no connection.
  const cache = o.cache === undefined ? null : new VerificationCache(store, o.cache);

  /** The configured clock's time; a clock that stops giving times is a fault (503), never a reason to skip expiry checks. */
  const readClock = (): number => {
    const now = clock.now();
    if (typeof now !== "number" || !Number.isFinite(now)) throw new TypeError("clock.now() returned no time");
    return now;
  };

  function emit(
    request: ApiKeyAuthRequest | undefined,
    reason: "ok" | ApiKeyAuthFailureReason,
    status: number,
    hint: string | null,
    record: ApiKeyRecord | null,
    now: number,
  ): void {
    if (onEvent === undefined) return;
    try {
      // Read once each, and never throwing: a request field whose getter throws is left out
      // (null), it does not cost the request its event.
      const ip = requestText(request, "ip");
      const userAgent = requestText(request, "userAgent");
      const method = requestText(request, "method");
      const path = requestText(request, "path");
      const returned: unknown = onEvent({
        ok: reason === "ok",
        reason,
        status,
        keyId: record?.id ?? null,
        hint: record?.hint ?? hint,
        accountId: record?.accountId ?? null,
        revokedReason: reason === "revoked" ? (record?.revokedReason ?? "revoked") : null,
        // An address may come from a header the client wrote (a `getIp` reading X-Forwarded-For).
        ip: ip === null ? null : redactKeys(ip, format),
        // The client's own text goes in without its query string and with key-shaped runs redacted.
        userAgent: userAgent === null ? null : redactKeys(userAgent, format),
        method: method === null ? null : redactKeys(method, format),
        path: path === null ? null : eventPath(path, format),
        time: new Date(now),
      });
      // An async sink (`async (event) => …` is a valid `onEvent`) fails by rejecting: that
      // rejection is ignored too, else it would be unhandled and Node would end the process.
      dropRejection(returned);
    } catch {
      // An event sink's failure never changes the answer.
    }
  }

  // The request path runs synchronously as far as it can: with the memory store or a cache hit
  // and a synchronous plan lookup, no promise is made until the answer. A step that returns a
  // promise continues asynchronously from there.
  function check(request: ApiKeyAuthRequest): ApiKeyAuthResult | Promise<ApiKeyAuthResult> {
    // Read once: a getter that answers differently on a second read must not have its grammar
    // checked on one value and its token taken from another (two lines passing as one).
    const authorization: unknown = request.authorization;
    const start = bearerStart(authorization);
    if (typeof start !== "number") {
      emit(request, start, 401, null, null, clock.now());
      return failures[start];
    }
    // The key is checked where it stands in the header line; it is cut out only to be hashed.
    const line = soleLine(authorization as string | readonly string[]);
    const tag = checkKey(line, start);
    if (tag < UNTAGGED) {
      // Every key character is a b64token character, so the header grammar is only scanned for a
      // token that is not a key: to tell a malformed header from a bad key.
      const reason = !isB64token(line, start) ? "malformed" : failureOf(tag) === "checksum" ? "checksum" : "format";
      emit(request, reason, 401, null, null, clock.now());
      return failures[reason];
    }
    return lookupFrom(0, request, line.slice(start), tag);
  }

  /** Look the key up with the pepper at `index` (then older ones). */
  function lookupFrom(
    index: number,
    request: ApiKeyAuthRequest,
    token: string,
    tag: number,
  ): ApiKeyAuthResult | Promise<ApiKeyAuthResult> {
    const pepper = peppers[index];
    const scheme = schemes[index] as string;
    // The digest is computed one character per byte: the memory store and the cache look it up as
    // it is; only a store lookup writes it out as the stored hex.
    const digest = digestWith(token, pepper, "latin1");
    // The cache needs the time; an answer from memory is then judged at that same time (one clock
    // read per request), an answer that had to wait at the time it came.
    const now = cache === null ? undefined : readClock();
    let found: ApiKeyRecord | null | Promise<ApiKeyRecord | null>;
    try {
      found = cache === null ? storeLookup(scheme, digest) : cache.lookup(scheme, digest, storeLookup, now as number);
    } catch {
      return unavailableFor(request, token, tag, null);
    }
    // Only the asynchronous case needs a closure; the synchronous one allocates nothing here.
    if (found instanceof Promise) {
      return found.then(
        (record) => afterLookup(index, request, token, tag, record, undefined),
        () => unavailableFor(request, token, tag, null),
      );
    }
    return afterLookup(index, request, token, tag, found, now);
  }

  /** Not found under this pepper: try the next older one; else decide. */
  function afterLookup(
    index: number,
    request: ApiKeyAuthRequest,
    token: string,
    tag: number,
    record: ApiKeyRecord | null,
    now: number | undefined,
  ): ApiKeyAuthResult | Promise<ApiKeyAuthResult> {
    return record === null && index + 1 < peppers.length
      ? lookupFrom(index + 1, request, token, tag)
      : decide(request, token, tag, record, now ?? readClock());
  }

  /** Revoked, expired, environment, then the plan. */
  function decide(
    request: ApiKeyAuthRequest,
    token: string,
    tag: number,
    record: ApiKeyRecord | null,
    now: number,
  ): ApiKeyAuthResult | Promise<ApiKeyAuthResult> {
    let reason: ApiKeyAuthFailureReason | undefined;
    if (record === null) reason = "unknown";
    // Written as "not later than now", so an Invalid Date (NaN) counts as revoked or expired. A
    // revocation that is not a rotation's grace holds even if this server's clock runs behind.
    else if (record.revokedAt !== null && revokedAtTime(record, now)) reason = "revoked";
    else if (record.expiresAt !== null && !(record.expiresAt.getTime() > now)) reason = "expired";
    else if (environmentIndex !== null && tag !== environmentIndex) reason = "environment";
    if (reason !== undefined || accounts === undefined) return finish(request, token, tag, record, now, reason);
    const r = record as ApiKeyRecord;
    // A failing plan lookup is a 503 whose event still names the key that was found.
    let pending: unknown;
    try {
      pending = accounts.getPlan(r.accountId);
    } catch {
      return unavailableFor(request, token, tag, r);
    }
    if (typeof (pending as PromiseLike<unknown> | null)?.then === "function") {
      return (deadlines.limit(pending, accountsMs) as Promise<unknown>).then(
        (plan) => finishWithPlan(request, token, tag, r, now, plan),
        () => unavailableFor(request, token, tag, r),
      );
    }
    return finishWithPlan(request, token, tag, r, now, pending);
  }

  function finishWithPlan(request: ApiKeyAuthRequest, token: string, tag: number, record: ApiKeyRecord, now: number, plan: unknown): ApiKeyAuthResult {
    let verdict: ApiKeyAuthFailureReason | undefined;
    try {
      verdict = planVerdict(plan);
    } catch {
      return unavailableFor(request, token, tag, record);
    }
    return finish(request, token, tag, record, now, verdict);
  }

  function planVerdict(plan: unknown): ApiKeyAuthFailureReason | undefined {
    if (plan === null || plan === undefined) return "account";
    if (typeof plan !== "string") throw new TypeError("getPlan returned neither a string nor null");
    return apiPlans.has(plan) ? undefined : "plan";
  }

  /** Permission, then the answer. */
  function finish(
    request: ApiKeyAuthRequest,
    token: string,
    tag: number,
    record: ApiKeyRecord | null,
    now: number,
    verdict: ApiKeyAuthFailureReason | undefined,
  ): ApiKeyAuthResult {
    let reason = verdict;
    if (reason === undefined) {
      const r = record as ApiKeyRecord;
      if (r.permissions !== "all" && !(r.permissions === "read-only" && SAFE_METHODS.has(request.method))) {
        reason = "permission";
      }
    }
    const hint = eventHint(token, tag);
    if (reason !== undefined) {
      const failure = failures[reason];
      emit(request, reason, failure.status, hint, record, now);
      return failure;
    }
    const r = record as ApiKeyRecord;
    usage.note(r.id, now);
    emit(request, "ok", 200, hint, r, now);
    return {
      ok: true,
      key: {
        id: r.id,
        accountId: r.accountId,
        name: r.name,
        environment: r.environment,
        permissions: r.permissions,
        hint: r.hint,
      },
    };
  }

  /** The presented key's hint, for events only: not built without `onEvent`. */
  function eventHint(token: string, tag: number): string | null {
    return onEvent === undefined ? null : hintOf(format, tag === UNTAGGED ? null : (format.environments[tag] as string), token);
  }

  const unavailable = (request: ApiKeyAuthRequest, hint: string | null = null, record: ApiKeyRecord | null = null): ApiKeyAuthResult => {
    // Event times come from the configured clock, like every other event (unless it is what failed).
    let now: number;
    try {
      now = clock.now();
    } catch {
      now = Date.now();
    }
    emit(request, "unavailable", 503, hint, record, now);
    return failures.unavailable;
  };

  /**
   * The store or the plan lookup failed for a well-formed key: 503, with an event that names what
   * was known by then (the key's hint; the record, if it was found), so an outage can be traced to
   * the keys and accounts it hit.
   */
  function unavailableFor(request: ApiKeyAuthRequest, token: string, tag: number, record: ApiKeyRecord | null): ApiKeyAuthResult {
    let hint: string | null = null;
    try {
      hint = eventHint(token, tag);
    } catch {
      // The event goes out without the hint.
    }
    return unavailable(request, hint, record);
  }

  /** The whole check, never throwing or rejecting: a ready result when nothing had to wait. */
  const checkOrPending = (request: ApiKeyAuthRequest): ApiKeyAuthResult | Promise<ApiKeyAuthResult> => {
    if (typeof request !== "object" || request === null) return failures.missing;
    // Fail closed: a store error, a rejected or timed-out lookup, a bad plan answer — thrown
    // here or rejected later — all give 503.
    try {
      const result = check(request);
      return result instanceof Promise ? result.catch(() => unavailable(request)) : result;
    } catch {
      return unavailable(request);
    }
  };

  const authenticate = (request: ApiKeyAuthRequest): Promise<ApiKeyAuthResult> => {
    const result = checkOrPending(request);
    return result instanceof Promise ? result : Promise.resolve(result);
  };

  return {
    realm,
    authenticate,
    // For this package's adapters: a ready answer lets them go on in the same tick. It names the
    // authenticate it stands for, so a caller who replaced authenticate is not bypassed.
    [checkNow]: Object.freeze({ check: checkOrPending, authenticate }),
    close(): Promise<void> {
      cache?.close();
      return usage.flush();
    },
  } as ApiKeyAuth;
}

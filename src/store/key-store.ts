/**
 * The storage contract (docs/custom-key-store.md). Every store this package ships passes the same conformance
 * suite (`runKeyStoreConformance` from `@fluenzr/api-keys/testing`); so must yours.
 *
 * @module
 */
import { ApiKeyError } from "../errors.js";

/**
 * What a key may do. `read-only` keys are limited to GET, HEAD and OPTIONS.
 *
 * @example
 * ```ts
 * import type { ApiKeyPermissions } from "@fluenzr/api-keys";
 * const permissions: ApiKeyPermissions = body.readOnly ? "read-only" : "all";
 * await manager.create({ accountId: "acc_1", actor, name: "Dashboard", permissions }); // read-only: GET, HEAD, OPTIONS
 * ```
 */
export type ApiKeyPermissions = "all" | "read-only";

/**
 * A stored key. Never holds the plaintext: only its hash and a display hint.
 *
 * @example
 * ```ts
 * import type { ApiKeyRecord } from "@fluenzr/api-keys";
 * const { record } = await manager.create({ accountId: "acc_1", actor, name: "Production", environment: "prod" });
 * // { id: "key_…", accountId: "acc_1", name: "Production", hint: "flz_sk_prod_…Xy4z",
 * //   hash: "sha256:<64 hex>" (with a pepper "hmac-sha256:1:<64 hex>"), environment: "prod",
 * //   permissions: "all", createdAt: Date, createdBy: "usr_1", lastUsedAt: null, revokedAt: null,
 * //   revokedReason: null, expiresAt: null, rotatedFromId: null, metadata: null }
 * const stored: ApiKeyRecord | null = await store.getById(record.id); // a copy: changing it changes nothing
 * ```
 */
export interface ApiKeyRecord {
  /** Public identifier, e.g. `key_…`. Safe to log and show. */
  id: string;
  /** The account that owns the key. */
  accountId: string;
  /** Descriptive name given at creation ("Production", "CI"). */
  name: string;
  /** `sha256:<hex>` or `hmac-sha256:<version>:<hex>` of the full key. Unique. */
  hash: string;
  /** Display hint: prefix, environment and last 4 characters, e.g. `flz_sk_prod_…Xy4z`. */
  hint: string;
  /** Environment tag of the key, or `null`. */
  environment: string | null;
  permissions: ApiKeyPermissions;
  createdAt: Date;
  /** Id of the administrator who created it, or `null`. */
  createdBy: string | null;
  /** Last successful authentication (coalesced: may lag by the write interval), or `null`. */
  lastUsedAt: Date | null;
  /** When the key stops (or stopped) working; may be in the future during a rotation's grace. */
  revokedAt: Date | null;
  /** Why it was revoked: `"revoked"` by an administrator, `"rotated"` by a rotation; else `null`. */
  revokedReason: string | null;
  /** When the key expires, or `null`. */
  expiresAt: Date | null;
  /** Id of the key this one replaced in a rotation, or `null`. */
  rotatedFromId: string | null;
  /** Free-form JSON data of the caller's. */
  metadata: Record<string, unknown> | null;
}

/**
 * One entry of a last-used batch.
 *
 * @example
 * ```ts
 * import type { ApiKeyUsage } from "@fluenzr/api-keys";
 * // The authenticator writes last-used times in batches like this one:
 * const batch: ApiKeyUsage[] = [{ id: "key_8Jd…", lastUsedAt: new Date() }];
 * await store.recordUsage(batch); // never moves a time back; unknown ids are ignored
 * ```
 */
export interface ApiKeyUsage {
  readonly id: string;
  readonly lastUsedAt: Date;
}

/**
 * A revocation announced by a store, for cache invalidation across servers.
 *
 * @example
 * ```ts
 * import type { ApiKeyRevocation } from "@fluenzr/api-keys";
 * // Your own cache of records by hash, emptied of a key as soon as any server revokes it:
 * const unsubscribe = store.subscribeRevocations?.((revocation: ApiKeyRevocation) => cache.delete(revocation.hash));
 * unsubscribe?.(); // on shutdown
 * ```
 */
export interface ApiKeyRevocation {
  readonly id: string;
  readonly hash: string;
}

/**
 * Options of {@link KeyStore.revoke}.
 *
 * @example
 * ```ts
 * import type { RevokeOptions } from "@fluenzr/api-keys";
 * const options: RevokeOptions = { at: new Date("2027-01-01T00:00:00Z"), reason: "contract ended" }; // default: now, "revoked"
 * const record = await store.revoke(id, options); // the record as stored, or null for an unknown id
 * record?.revokedAt; // 2027-01-01, unless an earlier revocation was stored: that one is kept
 * ```
 */
export interface RevokeOptions {
  /**
   * When the key stops working. Default: now. May be in the future (a rotation's grace). Must be
   * a valid `Date`: anything else (an Invalid Date, a string, a number, `null`) is refused with
   * `ApiKeyError` `INVALID_INPUT` before anything is changed.
   */
  at?: Date;
  /**
   * Default `"revoked"`. Anything but a string of 1 to 1000 characters (without NUL or lone
   * surrogates) is refused with `INVALID_INPUT` before anything is changed.
   */
  reason?: string;
}

/**
 * The few async methods the library needs from a database. Records cross this boundary as
 * copies: mutating a returned record never changes what is stored.
 *
 * Rules every store keeps (the conformance suite checks them; the input checks only with its
 * `strictInput` option, the rotation rules only with `rotationRules`):
 * - `insert` refuses a record whose `id` or `hash` is already stored (`ApiKeyError` `DUPLICATE_KEY`).
 * - `insert` refuses a successor (a record with a `rotatedFromId`) when the account already holds a
 *   live successor of the same key, one not revoked or only scheduled by a rotation
 *   (`ApiKeyError` `CONFLICT`), checked and inserted as one atomic step: a key is replaced once,
 *   also when two servers rotate it at the same instant. (The stores of this package; the
 *   conformance suite checks it with `rotationRules`. Without it, two servers can each rotate a key.)
 * - `revoke` is irreversible: once set, `revokedAt` only moves earlier, never later or back to `null`.
 *   A rotation's revocation (reason `"rotated"`) never replaces one made for another reason, even
 *   a later one: that one already holds, on servers whose clocks run behind too. (The stores of
 *   this package; checked by the conformance suite with `rotationRules`.)
 *   An `at` that is not a valid `Date` is refused (`ApiKeyError` `INVALID_INPUT`) and changes nothing.
 * - `recordUsage` only moves `lastUsedAt` forward, and skips entries whose `lastUsedAt` is not a
 *   valid `Date` (writing the rest of the batch).
 *
 * @example
 * ```ts
 * import type { ApiKeyRecord, ApiKeyUsage, KeyStore, RevokeOptions } from "@fluenzr/api-keys";
 * // An outline: each throw marks a method to write (see docs/custom-key-store.md).
 * class MyStore implements KeyStore {
 *   async insert(record: ApiKeyRecord): Promise<void> { throw new Error("INSERT; DUPLICATE_KEY on a taken id or hash"); }
 *   async getByHash(hash: string): Promise<ApiKeyRecord | null> { throw new Error("indexed lookup by hash"); }
 *   async getById(id: string): Promise<ApiKeyRecord | null> { throw new Error("lookup by id"); }
 *   async listByAccount(accountId: string): Promise<ApiKeyRecord[]> { throw new Error("oldest first"); }
 *   async revoke(id: string, options?: RevokeOptions): Promise<ApiKeyRecord | null> { throw new Error("keep the earliest time"); }
 *   async recordUsage(batch: readonly ApiKeyUsage[]): Promise<void> { throw new Error("only forward"); }
 * }
 * ```
 */
export interface KeyStore {
  /**
   * Store a new record. Rejects with `DUPLICATE_KEY` if its id or hash exists. This package's
   * stores also reject with `CONFLICT` a successor (`rotatedFromId`) of a key that already has a
   * live one in the account (not revoked, or revoked only by its rotation's grace), checked and
   * inserted atomically; recommended for yours (conformance option `rotationRules`).
   */
  insert(record: ApiKeyRecord): Promise<void>;
  /** The record with this hash, or `null`. The request path's one lookup: make it an indexed equality. */
  getByHash(hash: string): Promise<ApiKeyRecord | null>;
  /** The record with this id, or `null`. */
  getById(id: string): Promise<ApiKeyRecord | null>;
  /**
   * All records of an account, revoked ones included, oldest first. The order of records created
   * at the same time is the store's own (MemoryKeyStore: insertion; PostgreSQL and Redis: by id).
   */
  listByAccount(accountId: string): Promise<ApiKeyRecord[]>;
  /**
   * Revoke a key; `null` if there is no such id. If it is already revoked at an earlier time,
   * that time (and reason) is kept; this package's stores also keep a revocation made for another
   * reason than `"rotated"` when this one is a rotation's (recommended: conformance option
   * `rotationRules`). Resolves with the record as stored
   * afterwards. Rejects with `INVALID_INPUT`, changing nothing, if `at` is given and is not a
   * valid `Date`.
   */
  revoke(id: string, options?: RevokeOptions): Promise<ApiKeyRecord | null>;
  /**
   * Write last-used times in one batch, never moving one back. Unknown ids are ignored, and so
   * are entries whose `lastUsedAt` is not a valid `Date` (the rest of the batch is written):
   * last used is advisory, and a caller that retries a refused batch must not be stuck on one
   * bad entry.
   */
  recordUsage(batch: readonly ApiKeyUsage[]): Promise<void>;
  /**
   * Optional: call `listener` for every revocation, made here or by another server sharing the
   * store. Returns a function that stops listening. `onStatus(false)` says the channel is down
   * (announcements may be missed), `onStatus(true)` that it is back. A store whose channel is not
   * live yet when this returns calls `onStatus(false)` during the call and `onStatus(true)` once
   * it is; a store that never calls `onStatus` is taken to be live at once (as MemoryKeyStore).
   */
  subscribeRevocations?(
    listener: (revocation: ApiKeyRevocation) => void,
    onStatus?: (connected: boolean) => void,
  ): () => void;
}

/**
 * Does a revocation at `at` for `reason` replace the stored one? Only an earlier time does, and a
 * rotation's (`"rotated"`, a grace that ends exactly on time) never replaces one made for another
 * reason: that one holds from up to 60 s before its time on a server whose clock runs behind, so
 * a rotation that read the key before an administrator revoked it, and schedules its grace after,
 * would otherwise let such a server accept the revoked key again. The stores' revoke statements
 * (SQL, Lua) apply the same rule. @internal
 */
export function replacesRevocation(stored: { revokedAt: Date | null; revokedReason: string | null }, at: number, reason: string): boolean {
  if (stored.revokedAt === null) return true;
  if (!(at < stored.revokedAt.getTime())) return false;
  return reason !== "rotated" || stored.revokedReason === "rotated";
}

/**
 * Is `candidate` a live successor of `successor.rotatedFromId` in its account, one that blocks
 * inserting `successor`? Live: not revoked, or only by a rotation (its own grace). A successor
 * revoked otherwise (a rotation that failed part-way revokes the one it stored) does not block a
 * new attempt. The stores' insert statements (SQL, Lua) apply the same rule. @internal
 */
export function liveSuccessor(candidate: ApiKeyRecord, successor: ApiKeyRecord): boolean {
  return (
    successor.rotatedFromId !== null &&
    candidate.rotatedFromId === successor.rotatedFromId &&
    candidate.accountId === successor.accountId &&
    isLiveKey(candidate)
  );
}

/**
 * Not revoked, or revoked only by a rotation (a grace that ends on its own): a key that still
 * stands as its account's working key. What makes a successor count as one. @internal
 */
export function isLiveKey(record: Pick<ApiKeyRecord, "revokedAt" | "revokedReason">): boolean {
  return record.revokedAt === null || record.revokedReason === "rotated";
}

/** The error `insert` rejects with for a second live successor of a key. @internal */
export function successorConflict(): ApiKeyError {
  return new ApiKeyError("CONFLICT", "The key this record replaces already has a successor");
}

/** A copy of a record (dates and metadata copied too). @internal */
export function copyRecord(r: ApiKeyRecord): ApiKeyRecord {
  return {
    id: r.id,
    accountId: r.accountId,
    name: r.name,
    hash: r.hash,
    hint: r.hint,
    environment: r.environment,
    permissions: r.permissions,
    createdAt: new Date(r.createdAt.getTime()),
    createdBy: r.createdBy,
    lastUsedAt: r.lastUsedAt === null ? null : new Date(r.lastUsedAt.getTime()),
    revokedAt: r.revokedAt === null ? null : new Date(r.revokedAt.getTime()),
    revokedReason: r.revokedReason,
    expiresAt: r.expiresAt === null ? null : new Date(r.expiresAt.getTime()),
    rotatedFromId: r.rotatedFromId,
    metadata: r.metadata === null ? null : (JSON.parse(JSON.stringify(r.metadata)) as Record<string, unknown>),
  };
}

/**
 * Milliseconds since the epoch of a valid `Date` (from any realm), or `null` for anything else:
 * an Invalid Date, a string, a number, `null`, an object that only looks like a Date. @internal
 */
export function validTime(value: unknown): number | null {
  const t = dateTime(value);
  return t !== null && Number.isFinite(t) ? t : null;
}

/**
 * The time value of a real `Date` (from any realm), `NaN` for an Invalid Date, or `null` for
 * anything that is not a Date (a string, an object that only looks like one). @internal
 */
export function dateTime(value: unknown): number | null {
  if (typeof value !== "object" || value === null) return null;
  try {
    // Reads the internal time value: throws for anything that is not a real Date.
    return Date.prototype.getTime.call(value);
  } catch {
    return null;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return `a ${typeof value}`;
  try {
    return Object.prototype.toString.call(value) === "[object Date]" ? "an Invalid Date" : "an object that is not a Date";
  } catch {
    return "an object that is not a Date"; // a Proxy whose trap throws (toString reads Symbol.toStringTag)
  }
}

/** Earliest time a store keeps: 1970-01-01T00:00:00.000Z. @internal */
export const MIN_STORED_TIME = 0;
/** Latest time a store keeps: 9999-12-31T23:59:59.999Z (PostgreSQL refuses later ISO years). @internal */
export const MAX_STORED_TIME = 253_402_300_799_999;

/** `t` is a time every store keeps exactly (see {@link MIN_STORED_TIME}, {@link MAX_STORED_TIME}). @internal */
export function storableTime(t: number): boolean {
  return t >= MIN_STORED_TIME && t <= MAX_STORED_TIME;
}

// A NUL (PostgreSQL text and jsonb refuse it) or a lone surrogate (UTF-8 drivers turn it into
// U+FFFD): text that one store would refuse and another change silently.
const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `text` holds no NUL and no lone surrogate. @internal */
export function storableText(text: string): boolean {
  return !UNSTORABLE_TEXT.test(text);
}

/**
 * What is wrong with `value` as record metadata, or `null` if nothing: it must be a JSON object
 * (not an array) that `JSON.stringify` can write, whose keys and strings are storable text.
 * Values JSON drops or changes (`undefined`, functions, `NaN`) are dropped or changed alike by
 * every store. @internal
 */
export function metadataProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "must be a JSON object or null";
  let parsed: unknown;
  try {
    // Inside the try: Array.isArray throws for a revoked Proxy, JSON.stringify for a getter that throws.
    if (Array.isArray(value)) return "must be a JSON object or null";
    const json = JSON.stringify(value);
    parsed = typeof json === "string" ? JSON.parse(json) : undefined;
  } catch {
    return "must be JSON (no BigInt, no cycles)";
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "must be a JSON object or null";
  const pending: [value: unknown, depth: number][] = [[parsed, 1]];
  while (pending.length > 0) {
    const [v, depth] = pending.pop() as [unknown, number];
    if (typeof v === "string") {
      if (!storableText(v)) return "must not contain NUL characters or lone surrogates";
    } else if (typeof v === "object" && v !== null) {
      // Redis's cjson (in the store's scripts) refuses JSON nested 1000 deep: a record it could
      // not read would block every rotation in its account. Far past any real metadata.
      if (depth > MAX_METADATA_DEPTH) return METADATA_TOO_DEEP;
      for (const [k, inner] of Object.entries(v)) {
        if (!storableText(k)) return "must not contain NUL characters or lone surrogates";
        pending.push([inner, depth + 1]);
      }
    }
  }
  return null;
}

/** Deepest nesting of objects and arrays kept in metadata. @internal */
export const MAX_METADATA_DEPTH = 32;

/** What {@link metadataProblem} says of metadata nested deeper than that. @internal */
export const METADATA_TOO_DEEP = `must not nest objects and arrays more than ${MAX_METADATA_DEPTH} deep`;

const ID_FIELDS = new Set(["id", "accountId", "rotatedFromId"]);

function textProblem(field: string, value: unknown, nullable: boolean, min = 1): string | null {
  if (value === null && nullable) return null;
  const max = ID_FIELDS.has(field) ? 200 : 1000;
  if (typeof value !== "string" || value.length < min || value.length > max) {
    return `must be a string of ${min} to ${max} characters${nullable ? " or null" : ""}`;
  }
  return storableText(value) ? null : "must not contain NUL characters or lone surrogates";
}

function timeProblem(value: unknown, nullable: boolean): string | null {
  if (value === null && nullable) return null;
  const t = validTime(value);
  if (t === null) return `must be a valid Date${nullable ? " or null" : ""}, got ${describeValue(value)}`;
  return storableTime(t) ? null : "must be between 1970-01-01 and 9999-12-31";
}

/**
 * The record a store should hold, or `ApiKeyError` `INVALID_INPUT` naming the first bad field
 * (`error.field`) before anything is stored. Every store this package ships calls it first in
 * `insert` and stores what it returns, so all of them keep and refuse the same records.
 *
 * Lenient where nothing is lost: a nullable field that is absent (`undefined`) is `null`, and a
 * revoked record without a `revokedReason` gets `"revoked"` (a reason without `revokedAt` is
 * dropped). Refused:
 * - `id`, `accountId`, `hash`: not strings of 1 to 200 (ids) or 1 to 1000 (hash) characters; the
 *   ids are capped at the longest the key manager takes (a longer one could never be revoked
 *   through it);
 * - `name`, `hint` (and `environment`, `createdBy`, `revokedReason`, `rotatedFromId`, or `null`):
 *   not strings of at most 1000 characters (`name` and `hint` may be empty, the others not);
 * - any string holding a NUL or a lone surrogate (PostgreSQL refuses the first, UTF-8 drivers
 *   silently change the second);
 * - `permissions` other than `"all"` or `"read-only"`;
 * - `createdAt` (and `lastUsedAt`, `revokedAt`, `expiresAt`, or `null`) that is not a valid
 *   `Date` between 1970-01-01 and 9999-12-31 (an Invalid Date compares false with every time, so
 *   a key could never count as revoked or expired);
 * - `metadata` that is not a JSON object or `null` (see {@link metadataProblem}).
 * @internal
 */
export function storableRecord(record: unknown): ApiKeyRecord {
  const fail = (field: string, problem: string): never => {
    throw new ApiKeyError("INVALID_INPUT", `insert: field "${field}" ${problem}`, { field });
  };
  let array = true;
  try {
    array = Array.isArray(record); // throws for a revoked Proxy: not a record either
  } catch {
    // stays true
  }
  if (typeof record !== "object" || record === null || array) {
    throw new ApiKeyError("INVALID_INPUT", "insert expects an ApiKeyRecord object", { field: "record" });
  }
  const given = record as Record<keyof ApiKeyRecord, unknown>;
  // Each field read once; one whose getter (or Proxy trap) throws is refused naming it.
  const read = (field: keyof ApiKeyRecord): unknown => {
    try {
      return given[field];
    } catch {
      return fail(field, "could not be read (its getter threw)");
    }
  };
  const nullable = (field: keyof ApiKeyRecord): unknown => read(field) ?? null;
  const r: Record<keyof ApiKeyRecord, unknown> = {
    id: read("id"),
    accountId: read("accountId"),
    name: read("name"),
    hash: read("hash"),
    hint: read("hint"),
    environment: nullable("environment"),
    permissions: read("permissions"),
    createdAt: read("createdAt"),
    createdBy: nullable("createdBy"),
    lastUsedAt: nullable("lastUsedAt"),
    revokedAt: nullable("revokedAt"),
    revokedReason: nullable("revokedReason"),
    expiresAt: nullable("expiresAt"),
    rotatedFromId: nullable("rotatedFromId"),
    metadata: nullable("metadata"),
  };
  // A revoked record always says why (the stores read "revoked" for a missing reason anyway).
  if (r.revokedAt === null) r.revokedReason = null;
  else if (r.revokedReason === null) r.revokedReason = "revoked";
  const texts: [keyof ApiKeyRecord, boolean, number][] = [
    ["id", false, 1],
    ["accountId", false, 1],
    ["hash", false, 1],
    ["name", false, 0],
    ["hint", false, 0],
    ["environment", true, 1],
    ["createdBy", true, 1],
    ["revokedReason", true, 1],
    ["rotatedFromId", true, 1],
  ];
  for (const [field, canBeNull, min] of texts) {
    const problem = textProblem(field, r[field], canBeNull, min);
    if (problem !== null) fail(field, problem);
  }
  if (r.permissions !== "all" && r.permissions !== "read-only") fail("permissions", 'must be "all" or "read-only"');
  const times: [keyof ApiKeyRecord, boolean][] = [
    ["createdAt", false],
    ["lastUsedAt", true],
    ["revokedAt", true],
    ["expiresAt", true],
  ];
  for (const [field, canBeNull] of times) {
    const problem = timeProblem(r[field], canBeNull);
    if (problem !== null) fail(field, problem);
  }
  if (r.metadata !== null) {
    const problem = metadataProblem(r.metadata);
    if (problem !== null) fail("metadata", problem);
  }
  return r as unknown as ApiKeyRecord;
}

/**
 * The time a revocation takes effect (ms since the epoch): `options.at`, or now when it is
 * absent. An `at` that is not a valid Date throws `INVALID_INPUT` naming `at`, so a store checks
 * it before touching anything. @internal
 */
export function revokeTime(options: RevokeOptions | null | undefined, now: () => number = Date.now): number {
  const at = revokeOption(options, "at");
  if (at === undefined) return now();
  const t = validTime(at);
  if (t === null) {
    throw new ApiKeyError("INVALID_INPUT", `revoke: option "at" must be a valid Date, got ${describeValue(at)}`, { field: "at" });
  }
  if (!storableTime(t)) {
    throw new ApiKeyError("INVALID_INPUT", 'revoke: option "at" must be between 1970-01-01 and 9999-12-31', { field: "at" });
  }
  return t;
}

/**
 * The reason a revocation records: `options.reason`, or `"revoked"` when it is absent. Anything
 * but a string of 1 to 1000 storable characters throws `INVALID_INPUT` naming `reason`, so a store
 * checks it before touching anything. @internal
 */
export function revokeReason(options: RevokeOptions | null | undefined): string {
  const reason = revokeOption(options, "reason");
  if (reason === undefined) return "revoked";
  const problem = textProblem("reason", reason, false);
  if (problem !== null) throw new ApiKeyError("INVALID_INPUT", `revoke: option "reason" ${problem}`, { field: "reason" });
  return reason as string;
}

/** `options[name]`; a getter or Proxy trap that throws is `INVALID_INPUT` naming the option. */
function revokeOption(options: RevokeOptions | null | undefined, name: "at" | "reason"): unknown {
  try {
    return options?.[name];
  } catch (cause) {
    throw new ApiKeyError("INVALID_INPUT", `revoke: option "${name}" could not be read`, { field: name, cause });
  }
}

/**
 * The latest valid last-used time per id of a batch (ms since the epoch). Entries without a
 * string id or a valid `lastUsedAt` Date are skipped; a batch that is not an array throws
 * `INVALID_INPUT`. @internal
 */
export function latestUsage(batch: readonly ApiKeyUsage[]): Map<string, number> {
  // Copied once; a Proxy that throws while being read is no array of entries either.
  let entries: readonly unknown[] | undefined;
  let cause: unknown;
  try {
    entries = Array.isArray(batch) ? Array.from(batch as readonly unknown[]) : undefined;
  } catch (error) {
    cause = error;
  }
  if (entries === undefined) throw new ApiKeyError("INVALID_INPUT", "recordUsage expects an array of { id, lastUsedAt }", { field: "batch", cause });
  const latest = new Map<string, number>();
  for (const entry of entries) {
    if (typeof entry !== "object" || entry === null) continue;
    let id: unknown;
    let lastUsedAt: unknown;
    try {
      ({ id, lastUsedAt } = entry as { id?: unknown; lastUsedAt?: unknown });
    } catch {
      continue; // an entry that cannot be read is skipped, as one without a valid time
    }
    const t = validTime(lastUsedAt);
    if (typeof id !== "string" || t === null || !storableTime(t)) continue;
    if (!((latest.get(id) ?? -Infinity) >= t)) latest.set(id, t);
  }
  return latest;
}

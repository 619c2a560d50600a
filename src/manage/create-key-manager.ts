/**
 * Key management for a "Settings > API" page (docs/key-management.md): create (shown once), list, revoke,
 * rotate (with a grace period), rotation status and unused keys.
 * Failures reject with an `ApiKeyError` carrying `status`, `code` and the envelope `body`; a
 * failing store or plan lookup is 503 `SERVICE_UNAVAILABLE` (see `store-failure.ts`).
 *
 * @module
 */
import { containsKey } from "../auth/event-text.js";
import { z } from "zod";
import { ApiKeyError } from "../errors.js";
import { generateApiKey } from "../format/generate-api-key.js";
import { getDefaultKeyFormat, type KeyFormat } from "../format/key-format.js";
import { hashWith, normalizePeppers, type PepperOption } from "../hash/hash-api-key.js";
import { Deadlines } from "../auth/deadline.js";
import { revokedAtTime } from "../auth/revoked.js";
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
import { isRandomSource, poolFor, randomSymbols, type RandomSource } from "../lib/random.js";
import type { AccountPlans } from "../auth/create-api-key-auth.js";
import { MAX_STORED_TIME, METADATA_TOO_DEEP, metadataProblem, storableText, type ApiKeyPermissions, type ApiKeyRecord, type KeyStore } from "../store/key-store.js";
import { rotateApiKey, type RotateApiKeyInput, type RotatedApiKey } from "./rotate-api-key.js";
import { rotationStatus, type RotationStatus, type RotationStatusInput } from "./rotation-status.js";
import { unusedApiKeys, type UnusedApiKeysInput } from "./unused-api-keys.js";
import { confirmationWait, fromPlanLookupFailure, fromStoreFailure, guardStore, managementUnavailable } from "./store-failure.js";
import { dateFromInput, keyIdProblem, readInput, refuseUnknownFields } from "./parse-input.js";

/**
 * Who is acting: the caller has checked that this user belongs to the account.
 *
 * @example
 * ```ts
 * import type { KeyManagerActor } from "@fluenzr/api-keys";
 * // You checked that the signed-in user belongs to the account; the manager checks `admin`.
 * const actor: KeyManagerActor = { id: user.id, admin: user.isAdmin };
 * await manager.revoke({ accountId: user.accountId, actor, id }); // admin false: 403 "Administrator rights required"
 * ```
 */
export interface KeyManagerActor {
  readonly id: string;
  /** Administrator rights on the account: needed to create, revoke and rotate keys. */
  readonly admin: boolean;
}

/**
 * Options of {@link createKeyManager}.
 *
 * @example
 * ```ts
 * import { createKeyManager, type KeyManagerOptions } from "@fluenzr/api-keys";
 * const options: KeyManagerOptions = {
 *   store,                           // the store the authenticators use
 *   accounts: { getPlan: (accountId) => plans.get(accountId) ?? null },
 *   apiPlans: ["pro", "enterprise"], // other plans: 403 "API access requires Pro plan"
 *   pepper,                          // the authenticators' pepper, if they use one
 * };
 * const manager = createKeyManager(options); // an unknown or bad option throws INVALID_OPTIONS naming it
 * ```
 */
export interface KeyManagerOptions {
  store: KeyStore;
  /** Plan lookup; without it every account may have keys. */
  accounts?: AccountPlans | undefined;
  /** Plans with API access. Default `["pro"]`. */
  apiPlans?: readonly string[] | undefined;
  /** Plan named in the 403 message. Default: first of `apiPlans`, capitalised. */
  planName?: string | undefined;
  /** Key format. Default: {@link getDefaultKeyFormat}. */
  format?: KeyFormat | undefined;
  /** The same pepper the authenticators use (the current one hashes new keys). */
  pepper?: PepperOption | undefined;
  /** Time source. Default `Date.now`. Read once at setup: it must give a finite number. */
  clock?: { now(): number } | undefined;
  /**
   * Time limits in ms for the store and the plan lookup (default 2000 each); a number sets both,
   * as `createApiKeyAuth`'s option of the same name. A store call or `getPlan` with no answer
   * within its limit rejects the method with 503 `SERVICE_UNAVAILABLE` (its `cause` says which
   * limit ran out). A store that waits on purpose in `revoke` for other servers to confirm (the
   * PostgreSQL and Redis stores' `confirmTimeoutMs`) gets that wait on top of `storeMs` there.
   * Whole milliseconds from 1 to 2147483647.
   */
  timeouts?: number | { storeMs?: number | undefined; accountsMs?: number | undefined } | undefined;
  /** Random bytes for keys and ids. Default `crypto.getRandomValues`. Seeded only in tests. */
  random?: RandomSource | undefined;
  /**
   * A fresher view of key use than the store's coalesced `lastUsedAt`, typically the
   * `createUsageMonitor` fed by this process's authenticator. `rotationStatus` and `unused` take
   * the later of the two.
   */
  monitor?: KeyLastSeen | undefined;
}

/**
 * Anything that can say when a key was last presented (a usage monitor).
 *
 * @example
 * ```ts
 * import { createKeyManager, type KeyLastSeen } from "@fluenzr/api-keys";
 * // A usage monitor is one; so is anything with lastSeen(keyId), e.g. times from your gateway's log:
 * const gateway: KeyLastSeen = { lastSeen: (keyId) => lastRequestAt.get(keyId) ?? null };
 * const manager = createKeyManager({ store, monitor: gateway }); // rotationStatus and unused take the later time
 * ```
 */
export interface KeyLastSeen {
  /** Time of the last request seen with this key, accepted or refused; `null` if none. */
  lastSeen(keyId: string): Date | null;
}

/**
 * Input of {@link KeyManager.create}.
 *
 * @example
 * ```ts
 * import type { CreateApiKeyInput } from "@fluenzr/api-keys";
 * const input: CreateApiKeyInput = {
 *   accountId: "acc_1", actor: { id: "usr_1", admin: true }, name: "CI", environment: "stag",
 *   permissions: "read-only", expiresAt: new Date(Date.now() + 90 * 864e5), metadata: { team: "data" },
 * };
 * const { key, record } = await manager.create(input); // a misspelt field is 400 VALIDATION_ERROR
 * ```
 */
export interface CreateApiKeyInput {
  accountId: string;
  actor: KeyManagerActor;
  /** A descriptive name: trimmed, 1 to 100 printable characters, not containing a key (by its head `flz_sk_` in any letter case, or by its checksummed body). */
  name: string;
  /** An environment tag of the format's set (`prod`, `stag`, `dev`); omitted: untagged. */
  environment?: string | undefined;
  /** Default `"all"`. */
  permissions?: ApiKeyPermissions | undefined;
  /** A time in the future (a Date, or an ISO 8601 string such as "2030-01-31" or "2030-01-31T12:00:00Z": a time needs Z or an offset), at most 9999-12-31; omitted: never expires. */
  expiresAt?: Date | string | undefined;
  /**
   * Your own JSON data, kept with the record: an object, without NUL characters or lone
   * surrogates, at most 10 000 characters as JSON, and holding no key in a value or a property
   * name (found by the format's head, `flz_sk_`, in any letter case, or by a checksummed key body).
   */
  metadata?: Record<string, unknown> | undefined;
}

/**
 * The result of creating a key: the plaintext, once, and what was stored.
 *
 * @example
 * ```ts
 * import type { CreatedApiKey } from "@fluenzr/api-keys";
 * const created: CreatedApiKey = await manager.create({ accountId: "acc_1", actor, name: "Production", environment: "prod" });
 * created.key;         // "flz_sk_prod_…": show it once; never store or log it
 * created.record.id;   // "key_…"
 * created.record.hint; // "flz_sk_prod_…Xy4z": what the key list shows from now on
 * ```
 */
export interface CreatedApiKey {
  /** The plaintext key. Show it once; it cannot be recovered. */
  readonly key: string;
  readonly record: ApiKeyRecord;
}

/**
 * Status of a key in the list.
 *
 * @example
 * ```ts
 * import type { ApiKeyStatus } from "@fluenzr/api-keys";
 * const labels: Record<ApiKeyStatus, string> = { active: "Active", revoked: "Revoked", expired: "Expired" };
 * for (const row of await manager.list({ accountId: "acc_1" })) console.log(row.name, labels[row.status]);
 * ```
 */
export type ApiKeyStatus = "active" | "revoked" | "expired";

/**
 * A row of the key list (the spec's table: name, created, last used, and more).
 *
 * @example
 * ```ts
 * import type { ApiKeyListItem } from "@fluenzr/api-keys";
 * const rows: ApiKeyListItem[] = await manager.list({ accountId: "acc_1" }); // oldest first, revoked ones included
 * const table = rows.map((r) => ({ name: r.name, key: r.hint, created: r.createdAt, lastUsed: r.lastUsedAt, status: r.status }));
 * // key: "flz_sk_prod_…Xy4z", lastUsed: null until first used; rows never hold the key or its hash
 * ```
 */
export interface ApiKeyListItem {
  readonly id: string;
  readonly name: string;
  readonly hint: string;
  readonly environment: string | null;
  readonly permissions: ApiKeyPermissions;
  readonly createdAt: Date;
  readonly createdBy: string | null;
  readonly lastUsedAt: Date | null;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly rotatedFromId: string | null;
  readonly status: ApiKeyStatus;
}

/**
 * The key manager. Every method rejects only with an `ApiKeyError` that carries `status`, `code`
 * and the envelope `body`: 400 `VALIDATION_ERROR`, 403 `FORBIDDEN`, 404 `NOT_FOUND`,
 * 409 `CONFLICT`, or 503 `SERVICE_UNAVAILABLE` ("Key management is temporarily unavailable") when
 * the store or the plan lookup fails or does not answer within `timeouts` (the original error, or
 * the timeout, is the `cause`). Administrator-only
 * methods check the actor first, then the account id, the plan, and the other fields.
 *
 * @example
 * ```ts
 * import { createKeyManager, isApiKeyError, type KeyManager } from "@fluenzr/api-keys";
 * const manager: KeyManager = createKeyManager({ store, accounts });
 * try {
 *   await manager.revoke({ accountId: "acc_1", actor, id: "key_8Jd…" });
 * } catch (error) {
 *   if (isApiKeyError(error) && error.status !== undefined) res.status(error.status).json(error.body); // 403, 404, 503…
 * }
 * ```
 */
export interface KeyManager {
  /** Create a key: administrator on an account with API access; returns the plaintext once. */
  create(input: CreateApiKeyInput): Promise<CreatedApiKey>;
  /** The account's keys, oldest first. */
  list(input: { accountId: string }): Promise<ApiKeyListItem[]>;
  /** Revoke now, irreversibly; again is a no-op. A key of another account is 404. */
  revoke(input: { accountId: string; actor: KeyManagerActor; id: string }): Promise<ApiKeyListItem>;
  /**
   * Replace a key: a new one with the same name, environment, permissions and metadata (plaintext
   * returned once). A working key keeps working for `gracePeriodMs` (default 0: revoked now) and
   * then stops by itself. A key that already stopped (revoked by `revoke`, or expired) can be
   * replaced too: it stays as it is, no grace applies and `graceEndsAt` is when it stopped.
   * Administrator on an account with API access. A key that was already rotated (it has a
   * successor) is refused with 409 `CONFLICT`.
   */
  rotate(input: RotateApiKeyInput): Promise<RotatedApiKey>;
  /** Whether the old key of a rotation is still used, and when its grace ends. 404 if it was not rotated. */
  rotationStatus(input: RotationStatusInput): Promise<RotationStatus>;
  /** Working keys never used, or not used since `since`, oldest first. */
  unused(input: UnusedApiKeysInput): Promise<ApiKeyListItem[]>;
}

/** The manager's internals, shared by the lifecycle operations. @internal */
export interface ManagerContext {
  readonly store: KeyStore;
  readonly format: KeyFormat;
  readonly clock: { now(): number };
  /** The administrator's id, else 403. */
  requireAdmin(actor: unknown): string;
  requireApiPlan(accountId: string): Promise<void>;
  requireAccountId(accountId: unknown): string;
  findOwned(accountId: string, id: unknown): Promise<ApiKeyRecord>;
  newRecord(fields: NewRecordFields): { key: string; record: ApiKeyRecord };
  toItem(record: ApiKeyRecord): ApiKeyListItem;
  /** The later of the store's last used and the monitor's last sighting. */
  lastUsed(record: ApiKeyRecord): Date | null;
}

/** @internal */
export interface NewRecordFields {
  accountId: string;
  name: string;
  environment: string | null;
  permissions: ApiKeyPermissions;
  createdBy: string | null;
  expiresAt: Date | null;
  rotatedFromId: string | null;
  metadata: Record<string, unknown> | null;
}

const optionsSchema = z.strictObject({
  store: storeSchema,
  accounts: accountsSchema.optional(),
  apiPlans: apiPlansSchema.optional(),
  planName: z.string().min(1).max(100).optional(),
  format: formatSchema.optional(),
  pepper: pepperSchema.optional(),
  clock: clockSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  random: z.custom<RandomSource>(isRandomSource, { message: "expected a function that fills a Uint8Array, or { getRandomValues }" }).optional(),
  monitor: z
    .custom<KeyLastSeen>(
      (v) => typeof v === "object" && v !== null && typeof (v as { lastSeen?: unknown }).lastSeen === "function",
      { message: "expected { lastSeen(keyId) }, e.g. a usage monitor" },
    )
    .optional(),
});

/** 1 to `max` characters, none a NUL or a lone surrogate (what every store can hold). */
function storableId(text: string, max: number): boolean {
  return text.length > 0 && text.length <= max && storableText(text);
}

// Printable: no control, format (zero-width), surrogate or line/paragraph separator characters.
const PRINTABLE = /^[^\p{C}\p{Zl}\p{Zp}]+$/u;

/** 400 VALIDATION_ERROR naming the field. @internal */
export function validationError(field: string, problem: string): ApiKeyError {
  return new ApiKeyError("VALIDATION_ERROR", `Invalid ${field}: ${problem}`, { status: 400, field });
}


/** Build the manager's shared internals. @internal */
export function createManagerContext(options: KeyManagerOptions): ManagerContext {
  const o = parseOptions(optionsSchema, options, "createKeyManager");
  const givenClock = o.clock ?? systemClock;
  // A clock that stops giving a time later is a fault (503), as on the request path: never a
  // reason to list revoked or expired keys as active.
  const clock = {
    now(): number {
      const t = givenClock.now();
      if (typeof t !== "number" || !Number.isFinite(t)) throw managementUnavailable(new TypeError("clock.now() returned no time"));
      return t;
    },
  };
  // A clock that gives no number would make revoked keys list as active and every write fail.
  if (o.clock !== undefined) checkClockReading(o.clock);
  const { storeMs, accountsMs } = timeLimits(o.timeouts);
  // A timer per pending call, cleared when it answers: nothing outlives the work.
  const deadlines = new Deadlines();
  // Every store failure, a store that does not answer in time included, becomes an ApiKeyError
  // with a status (503 unless it says otherwise).
  const store = guardStore(o.store, {
    deadlines,
    storeMs,
    revokeMs: Math.min(MAX_TIMER_MS, storeMs + confirmationWait(o.store)),
    now: () => clock.now(),
  });
  const format = o.format ?? getDefaultKeyFormat();
  const accounts = o.accounts as AccountPlans | undefined;
  const apiPlans = new Set(o.apiPlans ?? ["pro"]);
  const planName = o.planName ?? displayPlanName(o.apiPlans?.[0] ?? "pro");
  const pepper = normalizePeppers(o.pepper as PepperOption | undefined)[0];
  const random = o.random as RandomSource | undefined;
  // Drawn now (the same bytes later keys use): a source that cannot give random bytes is refused
  // here, naming the option, not on every create as an error without a status.
  if (random !== undefined) poolFor(random).ready();
  const monitor = o.monitor;

  function lastUsed(r: ApiKeyRecord): Date | null {
    let seen: Date | null = null;
    try {
      const v = monitor?.lastSeen(r.id);
      if (v instanceof Date && !Number.isNaN(v.getTime())) seen = v;
    } catch {
      // The monitor is advisory: the store's answer stands.
    }
    if (seen === null) return r.lastUsedAt;
    return r.lastUsedAt === null || seen.getTime() > r.lastUsedAt.getTime() ? seen : r.lastUsedAt;
  }

  function toItem(r: ApiKeyRecord): ApiKeyListItem {
    const now = clock.now();
    const status: ApiKeyStatus =
      revokedAtTime(r, now)
        ? "revoked"
        : r.expiresAt !== null && r.expiresAt.getTime() <= now
          ? "expired"
          : "active";
    return {
      id: r.id,
      name: r.name,
      hint: r.hint,
      environment: r.environment,
      permissions: r.permissions,
      createdAt: r.createdAt,
      createdBy: r.createdBy,
      lastUsedAt: r.lastUsedAt,
      expiresAt: r.expiresAt,
      revokedAt: r.revokedAt,
      rotatedFromId: r.rotatedFromId,
      status,
    };
  }

  return {
    store,
    format,
    clock,
    toItem,
    lastUsed,
    requireAdmin(actor) {
      let admin: unknown;
      let id: unknown;
      try {
        if (typeof actor === "object" && actor !== null) ({ admin, id } = actor as Partial<KeyManagerActor>);
      } catch {
        // An actor that cannot be read is not an identified administrator.
      }
      // The id is stored as `createdBy`: an actor without a storable one is not an identified administrator.
      if (admin !== true || typeof id !== "string" || !storableId(id, 1000)) {
        throw new ApiKeyError("FORBIDDEN", "Administrator rights required", { status: 403 });
      }
      // Stored as the record's `createdBy`: like a name, it must not carry a key in plaintext.
      if (containsKey(id, format)) throw validationError("actor.id", "must not contain an API key");
      return id;
    },
    requireAccountId(accountId) {
      if (typeof accountId !== "string" || !storableId(accountId, 200))
        throw validationError("accountId", "a non-empty string of at most 200 characters is required");
      if (containsKey(accountId, format)) throw validationError("accountId", "must not contain an API key");
      return accountId;
    },
    async requireApiPlan(accountId) {
      if (accounts === undefined) return;
      let plan: unknown;
      try {
        plan = await deadlines.limit(accounts.getPlan(accountId), accountsMs);
      } catch (cause) {
        throw fromPlanLookupFailure(cause);
      }
      if (plan === null || plan === undefined)
        throw new ApiKeyError("NOT_FOUND", "Account not found", { status: 404 });
      // Something that is not a plan (an account row, a number) is the lookup's fault: 503, as on
      // the request path, not a 403 telling a Pro account it needs Pro.
      if (typeof plan !== "string") throw managementUnavailable(new TypeError("getPlan returned neither a string nor null"));
      if (!apiPlans.has(plan)) throw new ApiKeyError("FORBIDDEN", `API access requires ${planName} plan`, { status: 403 });
    },
    async findOwned(accountId, id) {
      const problem = keyIdProblem(id);
      if (problem !== null) throw validationError("id", problem);
      const record = await store.getById(id as string);
      // Another account's key is indistinguishable from a missing one.
      if (record === null || record.accountId !== accountId)
        throw new ApiKeyError("NOT_FOUND", "API key not found", { status: 404 });
      return record;
    },
    newRecord(fields) {
      const { key, hint } = generateApiKey({ format, environment: fields.environment ?? undefined, random });
      const record: ApiKeyRecord = {
        id: `key_${randomSymbols(poolFor(random), 24)}`,
        accountId: fields.accountId,
        name: fields.name,
        hash: hashWith(key, pepper),
        hint,
        environment: fields.environment,
        permissions: fields.permissions,
        createdAt: new Date(clock.now()),
        createdBy: fields.createdBy,
        lastUsedAt: null,
        revokedAt: null,
        revokedReason: null,
        expiresAt: fields.expiresAt,
        rotatedFromId: fields.rotatedFromId,
        metadata: fields.metadata,
      };
      return { key, record };
    },
  };
}

/**
 * Whether `value` would take more than `limit` characters as JSON, found by a walk that stops as
 * soon as it has seen that much (each string, property name and value counts at least its own
 * length; a cycle only adds up). @internal
 */
export function jsonSizeOver(value: unknown, limit: number): boolean {
  let size = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === "string") size += v.length + 2;
    else if (typeof v === "object" && v !== null) {
      size += 2;
      for (const k in v) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        const inner = (v as Record<string, unknown>)[k];
        // JSON leaves these out (as properties; in an array they are written as null).
        if (inner === undefined || typeof inner === "function" || typeof inner === "symbol") continue;
        size += k.length + 4;
        if (size > limit) return true;
        pending.push(inner);
      }
    } else size += 1;
    if (size > limit) return true;
  }
  return false;
}

/** Validate create input past the actor and account checks. @internal */
export function parseCreateInput(
  ctx: ManagerContext,
  input: CreateApiKeyInput,
): { name: string; environment: string | null; permissions: ApiKeyPermissions; expiresAt: Date | null; metadata: Record<string, unknown> | null } {
  const rawName: unknown = input.name;
  if (typeof rawName !== "string") throw validationError("name", "a descriptive name is required");
  // Capped before any work on it (trim, counting code points): a name of megabytes is refused at once.
  if (rawName.length > 1_000) throw validationError("name", "must be 1 to 100 printable characters");
  const name = rawName.trim();
  if (name.length === 0 || [...name].length > 100 || !PRINTABLE.test(name))
    throw validationError("name", "must be 1 to 100 printable characters");
  // A key pasted as the name would be stored in plaintext. The error does not echo it.
  if (containsKey(name, ctx.format)) throw validationError("name", "must not contain an API key");
  const env: unknown = input.environment;
  if (env !== undefined && env !== null && (typeof env !== "string" || !ctx.format.environments.includes(env)))
    throw validationError("environment", `must be one of ${ctx.format.environments.join(", ") || "(none)"}`);
  const permissions: unknown = input.permissions ?? "all";
  if (permissions !== "all" && permissions !== "read-only")
    throw validationError("permissions", 'must be "all" or "read-only"');
  const rawExpiry: unknown = input.expiresAt;
  let expiresAt: Date | null = null;
  if (rawExpiry !== undefined && rawExpiry !== null) {
    // The same rule as rotate's and unused's dates: a real Date (read by its internal time, so a
    // Proxy of a Date is refused) or a strict ISO 8601 string.
    const parsed = dateFromInput(rawExpiry);
    if (typeof parsed === "string") throw validationError("expiresAt", parsed);
    expiresAt = parsed;
    if (expiresAt.getTime() <= ctx.clock.now()) throw validationError("expiresAt", "must be in the future");
    if (expiresAt.getTime() > MAX_STORED_TIME) throw validationError("expiresAt", "must be at most 9999-12-31");
  }
  const meta: unknown = input.metadata;
  let metadata: Record<string, unknown> | null = null;
  if (meta !== undefined && meta !== null) {
    let array = true;
    try {
      array = Array.isArray(meta); // throws for a revoked Proxy: no JSON object either
    } catch {
      // stays true
    }
    if (typeof meta !== "object" || array) throw validationError("metadata", "must be a JSON object");
    // Capped before the full walk and JSON round trip below: a million entries are refused after
    // about 10 000 characters' worth of them, not after all of them were processed.
    let over: boolean;
    try {
      over = jsonSizeOver(meta, 10_000);
    } catch {
      // A getter or Proxy trap in it threw: not JSON we can store (else a raw error, seen as a 503).
      throw validationError("metadata", "must be a JSON object");
    }
    if (over) throw validationError("metadata", "must be at most 10000 characters as JSON");
    // What every store would refuse (a NUL, a lone surrogate, a BigInt) is a 400 here, not a 503 there.
    const problem = metadataProblem(meta);
    // Said as it is when the nesting is the problem (the fix differs); otherwise the one message.
    if (problem !== null) throw validationError("metadata", problem === METADATA_TOO_DEEP ? problem : "must be a JSON object");
    try {
      const json = JSON.stringify(meta);
      if (json.length > 10_000) throw validationError("metadata", "must be at most 10000 characters as JSON");
      // As for the name: a key pasted into metadata (a value or a property name) would be stored
      // in plaintext. Key characters are ASCII letters, digits and `_`, which JSON never escapes.
      if (containsKey(json, ctx.format)) throw validationError("metadata", "must not contain an API key");
      metadata = JSON.parse(json) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof Error && error.name === "ApiKeyError") throw error;
      throw validationError("metadata", "must be a JSON object");
    }
  }
  return { name, environment: (env as string | undefined | null) ?? null, permissions, expiresAt, metadata };
}

/**
 * Create the key manager behind a "Settings > API" page.
 *
 * @example
 * ```ts
 * import { createKeyManager, isApiKeyError, MemoryKeyStore } from "@fluenzr/api-keys";
 * const manager = createKeyManager({
 *   store: new MemoryKeyStore(),
 *   accounts: { getPlan: () => "pro" },
 *   timeouts: { storeMs: 2000, accountsMs: 2000 }, // the default: a hung store or plan lookup is a 503
 * });
 * const actor = { id: "usr_1", admin: true };
 * const { key, record } = await manager.create({ accountId: "acc_1", actor, name: "Production", environment: "prod" });
 * // show `key` once
 * await manager.list({ accountId: "acc_1" });   // [{ id, name, hint, createdAt, lastUsedAt, status, ... }]
 * await manager.revoke({ accountId: "acc_1", actor, id: record.id });
 * // a revoked key can still be replaced with its settings; it stays revoked (no grace)
 * const replacement = await manager.rotate({ accountId: "acc_1", actor, id: record.id });
 *
 * // rotation: the old key keeps working for an hour, then stops by itself
 * const ci = await manager.create({ accountId: "acc_1", actor, name: "CI", environment: "stag" });
 * const rotated = await manager.rotate({ accountId: "acc_1", actor, id: ci.record.id, gracePeriodMs: 3600_000 });
 * // show rotated.key once; later: is anything still sending the old key?
 * const status = await manager.rotationStatus({ accountId: "acc_1", id: ci.record.id });
 * status.previousUsedSinceRotation; // false: safe to revoke now
 * await manager.unused({ accountId: "acc_1", since: new Date(Date.now() - 90 * 864e5) });
 *
 * // every failure, a store outage included (503 SERVICE_UNAVAILABLE), carries status and body
 * try {
 *   await manager.list({ accountId: "acc_1" });
 * } catch (error) {
 *   if (isApiKeyError(error) && error.status !== undefined) res.status(error.status).json(error.body);
 * }
 * ```
 */
export function createKeyManager(options: KeyManagerOptions): KeyManager {
  const ctx = createManagerContext(options);
  return {
    create: answering(async (given: CreateApiKeyInput) => {
      if (typeof given !== "object" || given === null) throw validationError("input", "an object is required");
      const input = readInput(given, CREATE_FIELDS) as unknown as CreateApiKeyInput;
      // Administrator first: a non-administrator learns nothing about the other fields.
      const createdBy = ctx.requireAdmin(input.actor);
      const accountId = ctx.requireAccountId(input.accountId);
      await ctx.requireApiPlan(accountId);
      refuseUnknownFields(input, ctx.format.head);
      const fields = parseCreateInput(ctx, input);
      const { key, record } = ctx.newRecord({
        accountId,
        ...fields,
        createdBy,
        rotatedFromId: null,
      });
      await ctx.store.insert(record);
      return { key, record };
    }),
    list: answering(async (input: { accountId: string }) => {
      const read = readInput(input, ["accountId"]);
      const accountId = ctx.requireAccountId(read["accountId"]);
      refuseUnknownFields(read, ctx.format.head);
      const records = await ctx.store.listByAccount(accountId);
      return records.map((r) => ctx.toItem(r));
    }),
    revoke: answering(async (given: { accountId: string; actor: KeyManagerActor; id: string }) => {
      if (typeof given !== "object" || given === null) throw validationError("input", "an object is required");
      const input = readInput(given, ["accountId", "actor", "id"]);
      ctx.requireAdmin(input["actor"]);
      const accountId = ctx.requireAccountId(input["accountId"]);
      refuseUnknownFields(input, ctx.format.head);
      const record = await ctx.findOwned(accountId, input["id"]);
      const revoked = await ctx.store.revoke(record.id, { at: new Date(ctx.clock.now()), reason: "revoked" });
      if (revoked === null) throw new ApiKeyError("NOT_FOUND", "API key not found", { status: 404 });
      return ctx.toItem(revoked);
    }),
    rotate: answering((input: RotateApiKeyInput) => rotateApiKey(ctx, input)),
    rotationStatus: answering((input: RotationStatusInput) => rotationStatus(ctx, input)),
    unused: answering((input: UnusedApiKeysInput) => unusedApiKeys(ctx, input)),
  };
}

const CREATE_FIELDS = ["accountId", "actor", "name", "environment", "permissions", "expiresAt", "metadata"];

/**
 * A manager method that keeps the contract of rejecting only with an answer (an `ApiKeyError`
 * with a status): input and store failures already are; anything else that escapes (a store
 * record of the wrong shape read later, a clock that throws) is 503 with its `cause`, as the
 * guarded store does for an answer of the wrong shape.
 */
function answering<I, R>(method: (input: I) => Promise<R>): (input: I) => Promise<R> {
  return async (input) => {
    try {
      return await method(input);
    } catch (error) {
      throw fromStoreFailure(error);
    }
  };
}

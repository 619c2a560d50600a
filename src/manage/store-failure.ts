/**
 * Store failures during management calls: whatever the store (or the plan lookup)
 * throws or rejects with comes out of the manager as an `ApiKeyError` carrying `status`, `code`
 * and the envelope `body`, never as a raw driver error and never with the driver's message.
 *
 * | from the store | status | `code` | message |
 * |---|---|---|---|
 * | an `ApiKeyError` that has a `status` | as it is | as it is | as it is |
 * | `ApiKeyError` `DUPLICATE_KEY` or `CONFLICT` without one | 409 | `CONFLICT` | {@link KEY_CONFLICT_MESSAGE} |
 * | `ApiKeyError` `NOT_FOUND` without one | 404 | `NOT_FOUND` | `API key not found` |
 * | anything else (driver errors, `STORE_ERROR`, `TIMEOUT`, a malformed answer) | 503 | `SERVICE_UNAVAILABLE` | {@link MANAGEMENT_UNAVAILABLE_MESSAGE} |
 * | no answer within the manager's `timeouts` | 503 | `SERVICE_UNAVAILABLE` | {@link MANAGEMENT_UNAVAILABLE_MESSAGE} |
 *
 * The original error is the new one's `cause`, for your logs.
 *
 * @module
 */
import { DeadlineExceeded, type Deadlines } from "../auth/deadline.js";
import { ApiKeyError, isApiKeyError } from "../errors.js";
import type { ApiKeyRecord, ApiKeyUsage, KeyStore, RevokeOptions } from "../store/key-store.js";

/** The fixed message of a 503 from a management call. Never the driver's message. @internal */
export const MANAGEMENT_UNAVAILABLE_MESSAGE = "Key management is temporarily unavailable";

/** The fixed message of a 409 for a store's status-less `DUPLICATE_KEY`/`CONFLICT`. @internal */
export const KEY_CONFLICT_MESSAGE = "API key conflicts with a stored key; try again";

/** True for an `ApiKeyError` that already says how to answer (an HTTP error status). */
function answers(error: unknown): error is ApiKeyError {
  if (!isApiKeyError(error)) return false;
  const status: unknown = error.status;
  return typeof status === "number" && Number.isInteger(status) && status >= 400 && status <= 599;
}

/** 503 `SERVICE_UNAVAILABLE` with the fixed message, `cause` kept. @internal */
export function managementUnavailable(cause: unknown): ApiKeyError {
  return new ApiKeyError("SERVICE_UNAVAILABLE", MANAGEMENT_UNAVAILABLE_MESSAGE, { status: 503, cause });
}

/**
 * What a management call rejects with when the store failed with `error` (see the module's table).
 * @internal
 */
export function fromStoreFailure(error: unknown): ApiKeyError {
  if (answers(error)) return error;
  if (isApiKeyError(error)) {
    if (error.code === "DUPLICATE_KEY" || error.code === "CONFLICT")
      return new ApiKeyError("CONFLICT", KEY_CONFLICT_MESSAGE, { status: 409, cause: error });
    if (error.code === "NOT_FOUND") return new ApiKeyError("NOT_FOUND", "API key not found", { status: 404, cause: error });
  }
  return managementUnavailable(error);
}

/** What the plan lookup's failure becomes: its own answer if it has one, else 503. @internal */
export function fromPlanLookupFailure(error: unknown): ApiKeyError {
  return answers(error) ? error : managementUnavailable(error);
}

function malformed(method: string, expected: string): ApiKeyError {
  return managementUnavailable(new TypeError(`KeyStore.${method} did not resolve with ${expected}`));
}

function recordOrNull(method: string, value: unknown): ApiKeyRecord | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object") throw malformed(method, "a record or null");
  return value as ApiKeyRecord;
}

/** Time limits of the guarded store (ms). @internal */
export interface StoreLimits {
  /** Deadlines shared by the manager's store and plan lookups. */
  readonly deadlines: Deadlines;
  /** Limit of every store call but `revoke`. */
  readonly storeMs: number;
  /** Limit of `revoke`: `storeMs` plus the store's own confirmation wait, if it has one. */
  readonly revokeMs: number;
  /** The manager's clock, for the revocation of a key whose insert answered too late. */
  readonly now: () => number;
}

/**
 * How long a store's `revoke` may wait on purpose for other servers to confirm (the PostgreSQL and
 * Redis stores' `confirmTimeoutMs`), so that the manager's limit does not cut that wait short and
 * answer 503 for a revocation that is done. 0 for a store without one. @internal
 */
export function confirmationWait(store: KeyStore): number {
  const wait: unknown = (store as { confirmTimeoutMs?: unknown }).confirmTimeoutMs;
  return typeof wait === "number" && Number.isFinite(wait) && wait > 0 ? wait : 0;
}

/**
 * The store as the manager sees it: every call that throws or rejects (synchronously or not), or
 * gives no answer within its limit, rejects with {@link fromStoreFailure}'s error instead (503 for
 * a timeout, its `cause` a `DeadlineExceeded`), and an answer of the wrong shape (a list that is
 * not an array, a record that is not an object) is a 503 too.
 *
 * An `insert` that answers after its limit has passed stored a key whose plaintext nobody was
 * given (the call already failed): that record is revoked as soon as the insert lands, so it never
 * shows as a working key. Nothing waits for that clean-up and it never rejects.
 * @internal
 */
export function guardStore(store: KeyStore, limits: StoreLimits): KeyStore {
  const { deadlines, storeMs, revokeMs } = limits;
  async function call<T>(start: () => Promise<unknown>, ms: number, accept: (value: unknown) => T, onLate?: (pending: Promise<unknown>) => void): Promise<T> {
    let pending: Promise<unknown> | undefined;
    try {
      pending = start();
      return accept(await deadlines.limit(pending, ms));
    } catch (error) {
      if (error instanceof DeadlineExceeded && pending !== undefined) onLate?.(pending);
      throw fromStoreFailure(error);
    }
  }
  const nothing = (): void => undefined;
  return {
    insert: (record: ApiKeyRecord) =>
      call(async () => store.insert(record), storeMs, nothing, (pending) => {
        pending
          .then(() => store.revoke(record.id, { at: new Date(limits.now()), reason: "revoked" }))
          .catch(() => undefined);
      }),
    getByHash: (hash: string) => call(async () => store.getByHash(hash), storeMs, (v) => recordOrNull("getByHash", v)),
    getById: (id: string) => call(async () => store.getById(id), storeMs, (v) => recordOrNull("getById", v)),
    listByAccount: (accountId: string) =>
      call(async () => store.listByAccount(accountId), storeMs, (rows) => {
        if (!Array.isArray(rows)) throw malformed("listByAccount", "an array");
        return rows as ApiKeyRecord[];
      }),
    revoke: (id: string, options?: RevokeOptions) => call(async () => store.revoke(id, options), revokeMs, (v) => recordOrNull("revoke", v)),
    recordUsage: (batch: readonly ApiKeyUsage[]) => call(async () => store.recordUsage(batch), storeMs, nothing),
  };
}

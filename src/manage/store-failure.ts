/**
 * Store failures during management calls (DESIGN §10): whatever the store (or the plan lookup)
 * throws or rejects with comes out of the manager as an `ApiKeyError` carrying `status`, `code`
 * and the envelope `body`, never as a raw driver error and never with the driver's message.
 *
 * | from the store | status | `code` | message |
 * |---|---|---|---|
 * | an `ApiKeyError` that has a `status` | as it is | as it is | as it is |
 * | `ApiKeyError` `DUPLICATE_KEY` or `CONFLICT` without one | 409 | `CONFLICT` | {@link KEY_CONFLICT_MESSAGE} |
 * | `ApiKeyError` `NOT_FOUND` without one | 404 | `NOT_FOUND` | `API key not found` |
 * | anything else (driver errors, `STORE_ERROR`, `TIMEOUT`, a malformed answer) | 503 | `SERVICE_UNAVAILABLE` | {@link MANAGEMENT_UNAVAILABLE_MESSAGE} |
 *
 * The original error is the new one's `cause`, for your logs.
 *
 * @module
 */
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

/**
 * The store as the manager sees it: every call that throws or rejects (synchronously or not)
 * rejects with {@link fromStoreFailure}'s error instead, and an answer of the wrong shape (a list
 * that is not an array, a record that is not an object) is a 503 too.
 * @internal
 */
export function guardStore(store: KeyStore): KeyStore {
  async function call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw fromStoreFailure(error);
    }
  }
  return {
    insert: (record: ApiKeyRecord) => call(async () => void (await store.insert(record))),
    getByHash: (hash: string) => call(async () => recordOrNull("getByHash", await store.getByHash(hash))),
    getById: (id: string) => call(async () => recordOrNull("getById", await store.getById(id))),
    listByAccount: (accountId: string) =>
      call(async () => {
        const rows: unknown = await store.listByAccount(accountId);
        if (!Array.isArray(rows)) throw malformed("listByAccount", "an array");
        return rows as ApiKeyRecord[];
      }),
    revoke: (id: string, options?: RevokeOptions) => call(async () => recordOrNull("revoke", await store.revoke(id, options))),
    recordUsage: (batch: readonly ApiKeyUsage[]) => call(async () => void (await store.recordUsage(batch))),
  };
}

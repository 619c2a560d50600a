/**
 * @module
 */
import { ApiKeyError } from "../errors.js";
import {
  copyRecord,
  type ApiKeyRecord,
  type ApiKeyRevocation,
  type ApiKeyUsage,
  type KeyStore,
  type RevokeOptions,
} from "./key-store.js";

/** Lets the authenticator read a memory store without a promise per request. @internal */
export const syncLookup: unique symbol = Symbol.for("@fluenzr/api-keys/syncLookup");

/**
 * A {@link KeyStore} in process memory: for tests, demos and single-process tools. Holds as many
 * records as you insert (bounded only by the caller). Records go in and come out as copies.
 * Announces its revocations to subscribers, so authenticators with a cache drop revoked keys.
 *
 * @example
 * ```ts
 * import { MemoryKeyStore, createApiKeyAuth } from "@fluenzr/api-keys";
 * const store = new MemoryKeyStore();
 * const auth = createApiKeyAuth({ store });
 * ```
 */
export class MemoryKeyStore implements KeyStore {
  private readonly byId = new Map<string, ApiKeyRecord>();
  private readonly byHash = new Map<string, ApiKeyRecord>();
  private readonly listeners = new Set<(revocation: ApiKeyRevocation) => void>();

  /** Number of stored records. */
  get size(): number {
    return this.byId.size;
  }

  async insert(record: ApiKeyRecord): Promise<void> {
    if (this.byId.has(record.id)) throw new ApiKeyError("DUPLICATE_KEY", "A key with this id is already stored");
    if (this.byHash.has(record.hash)) throw new ApiKeyError("DUPLICATE_KEY", "A key with this hash is already stored");
    const copy = copyRecord(record);
    this.byId.set(copy.id, copy);
    this.byHash.set(copy.hash, copy);
  }

  async getByHash(hash: string): Promise<ApiKeyRecord | null> {
    const r = this.byHash.get(hash);
    return r === undefined ? null : copyRecord(r);
  }

  /** @internal The stored record itself, for the authenticator (which never mutates it). */
  [syncLookup](hash: string): ApiKeyRecord | null {
    return this.byHash.get(hash) ?? null;
  }

  async getById(id: string): Promise<ApiKeyRecord | null> {
    const r = this.byId.get(id);
    return r === undefined ? null : copyRecord(r);
  }

  async listByAccount(accountId: string): Promise<ApiKeyRecord[]> {
    const out: ApiKeyRecord[] = [];
    for (const r of this.byId.values()) if (r.accountId === accountId) out.push(copyRecord(r));
    return out.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  async revoke(id: string, options: RevokeOptions = {}): Promise<ApiKeyRecord | null> {
    const r = this.byId.get(id);
    if (r === undefined) return null;
    const at = options.at ?? new Date();
    if (r.revokedAt === null || at.getTime() < r.revokedAt.getTime()) {
      // Replace rather than mutate: a lookup in flight keeps the object it already had.
      const next = { ...r, revokedAt: new Date(at.getTime()), revokedReason: options.reason ?? "revoked" };
      this.byId.set(id, next);
      this.byHash.set(next.hash, next);
      const revocation = { id, hash: next.hash };
      for (const listener of this.listeners) {
        try {
          listener(revocation);
        } catch {
          // A listener's failure must not undo or hide the revocation.
        }
      }
      return copyRecord(next);
    }
    return copyRecord(r);
  }

  async recordUsage(batch: readonly ApiKeyUsage[]): Promise<void> {
    for (const { id, lastUsedAt } of batch) {
      const r = this.byId.get(id);
      if (r === undefined) continue;
      if (r.lastUsedAt === null || lastUsedAt.getTime() > r.lastUsedAt.getTime()) {
        const next = { ...r, lastUsedAt: new Date(lastUsedAt.getTime()) };
        this.byId.set(id, next);
        this.byHash.set(next.hash, next);
      }
    }
  }

  subscribeRevocations(listener: (revocation: ApiKeyRevocation) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}

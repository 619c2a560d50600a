/**
 * @module
 */
import { ApiKeyError } from "../errors.js";
import { hexToLatin1 } from "../hash/digest.js";
import { DigestMap } from "../lib/digest-map.js";
import {
  storableRecord,
  copyRecord,
  latestUsage,
  liveSuccessor,
  replacesRevocation,
  revokeReason,
  revokeTime,
  successorConflict,
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
  private readonly byHash = new HashIndex();
  /** Ids of the keys made by rotating each key (by the rotated key's id): one look per rotation, not a scan. */
  private readonly successors = new Map<string, string[]>();
  private readonly listeners = new Set<(revocation: ApiKeyRevocation) => void>();

  /** Number of stored records. */
  get size(): number {
    return this.byId.size;
  }

  /**
   * Store a copy of `record`. Refuses a malformed record (`INVALID_INPUT`, naming the field: an
   * Invalid Date, unknown permissions, a missing id, …) and a stored id or hash (`DUPLICATE_KEY`);
   * either way nothing is stored.
   */
  async insert(given: ApiKeyRecord): Promise<void> {
    const record = storableRecord(given);
    if (this.byId.has(record.id)) throw new ApiKeyError("DUPLICATE_KEY", "A key with this id is already stored");
    if (this.byHash.has(record.hash)) throw new ApiKeyError("DUPLICATE_KEY", "A key with this hash is already stored");
    // A key is replaced once: two managers on this store rotating it at once get one successor.
    const siblings = record.rotatedFromId === null ? undefined : this.successors.get(record.rotatedFromId);
    if (siblings !== undefined) {
      for (const id of siblings) {
        const r = this.byId.get(id);
        if (r !== undefined && liveSuccessor(r, record)) throw successorConflict();
      }
    }
    const copy = copyRecord(record);
    this.byId.set(copy.id, copy);
    this.byHash.set(copy);
    if (copy.rotatedFromId !== null) {
      if (siblings === undefined) this.successors.set(copy.rotatedFromId, [copy.id]);
      else siblings.push(copy.id);
    }
  }

  async getByHash(hash: string): Promise<ApiKeyRecord | null> {
    const r = typeof hash === "string" ? this.byHash.get(hash) : undefined;
    return r === undefined ? null : copyRecord(r);
  }

  /**
   * @internal The stored record itself, for the authenticator (which never mutates it), by the
   * hash's scheme and its digest written one character per byte.
   */
  [syncLookup](scheme: string, digest: string): ApiKeyRecord | null {
    return this.byHash.lookup(scheme, digest) ?? null;
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
    // Checked first: an Invalid Date stored here would never count as revoked, nor let a later
    // revoke take its place.
    const at = revokeTime(options);
    const reason = revokeReason(options);
    const r = this.byId.get(id);
    if (r === undefined) return null;
    // Earlier only; a rotation's grace never replaces an administrator's revocation (see replacesRevocation).
    if (replacesRevocation(r, at, reason)) {
      // Replace rather than mutate: a lookup in flight keeps the object it already had.
      const next = { ...r, revokedAt: new Date(at), revokedReason: reason };
      this.byId.set(id, next);
      this.byHash.set(next);
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

  /** Entries whose `lastUsedAt` is not a valid Date are skipped, as unknown ids are. */
  async recordUsage(batch: readonly ApiKeyUsage[]): Promise<void> {
    for (const [id, t] of latestUsage(batch)) {
      const r = this.byId.get(id);
      if (r === undefined) continue;
      if (r.lastUsedAt === null || t > r.lastUsedAt.getTime()) {
        const next = { ...r, lastUsedAt: new Date(t) };
        this.byId.set(id, next);
        this.byHash.set(next);
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

const PLAIN = "sha256:";

/**
 * Records by hash. A hash of the usual shape, scheme + lower-case hex digest (`sha256:…`), is
 * filed under its scheme and its digest's bytes written one character per byte: the form the
 * authenticator computes on the request path, so it is looked up as it is, with no hex and no
 * string joined. Any other hash string is filed apart under its whole text, where a computed
 * digest never looks; either way one hash has one slot and two hashes never share one.
 */
class HashIndex {
  /**
   * Plain SHA-256, the usual scheme, held directly: one read per lookup, in a table that takes
   * the digest's own (uniform) characters for a slot instead of hashing the string.
   */
  private readonly plain = new DigestMap<ApiKeyRecord>();
  private readonly schemes = new Map<string, DigestMap<ApiKeyRecord>>([[PLAIN, this.plain]]);
  private readonly other = new Map<string, ApiKeyRecord>();

  /** The record whose hash is `scheme` + the hex of `digest` (one character per byte). */
  lookup(scheme: string, digest: string): ApiKeyRecord | undefined {
    return scheme === PLAIN ? this.plain.get(digest) : this.schemes.get(scheme)?.get(digest);
  }

  get(hash: string): ApiKeyRecord | undefined {
    const cut = hash.lastIndexOf(":") + 1;
    const digest = hexToLatin1(hash.slice(cut));
    return digest === null ? this.other.get(hash) : this.lookup(hash.slice(0, cut), digest);
  }

  has(hash: string): boolean {
    return this.get(hash) !== undefined;
  }

  set(record: ApiKeyRecord): void {
    const hash = record.hash;
    const cut = hash.lastIndexOf(":") + 1;
    const digest = hexToLatin1(hash.slice(cut));
    if (digest === null) {
      this.other.set(hash, record);
      return;
    }
    const scheme = hash.slice(0, cut);
    let digests = this.schemes.get(scheme);
    if (digests === undefined) this.schemes.set(scheme, (digests = new DigestMap()));
    digests.set(digest, record);
  }
}

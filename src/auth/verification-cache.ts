/**
 * The verification cache (the "(cache)" step of the request path, docs/verification-cache.md): answers repeated lookups of the same
 * hash from process memory, so most requests never reach the store, while a revocation made on
 * any server still takes effect within the announcement's delivery time.
 *
 * Rules, in the order they matter:
 * - Found records are kept only while the store's revocation channel is live: every
 *   announcement drops its hash, and when the channel drops the whole cache is flushed and
 *   bypassed until it is back. A store without announcements gets no cached active keys unless
 *   the user accepts a staleness bound (`maxStalenessMs`).
 * - A lookup that started before an invalidation never writes its (possibly stale) answer: every
 *   invalidation bumps a generation, and an answer is kept only if the generation it started in
 *   is still current.
 * - "Not found" is kept only briefly (`negativeTtlMs`), since a key created later must work.
 *
 * @module
 */
import { revokedAtTime } from "./revoked.js";
import { z } from "zod";
import { hexToLatin1 } from "../hash/digest.js";
import { DigestMap } from "../lib/digest-map.js";
import { RecencyList } from "../lib/recency-list.js";
import type { ApiKeyRecord, KeyStore } from "../store/key-store.js";

/**
 * Options of the verification cache: `createApiKeyAuth({ cache: { ttlMs, max } })`.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, type VerificationCacheOptions } from "@fluenzr/api-keys";
 * const cache: VerificationCacheOptions = { ttlMs: 60_000, max: 10_000 }; // up to 10 000 keys for up to a minute
 * const auth = createApiKeyAuth({ store, cache }); // PostgresKeyStore, RedisKeyStore: revocations drop keys on every server
 * // a store that cannot announce revocations caches found keys only with a staleness bound:
 * createApiKeyAuth({ store: myStore, cache: { ttlMs: 60_000, max: 10_000, maxStalenessMs: 5_000 } });
 * ```
 */
export interface VerificationCacheOptions {
  /** How long a found key is kept (ms). Revocation announcements drop it sooner. */
  ttlMs: number;
  /** At most this many found keys, and as many "not found" answers; keys not used lately go first. */
  max: number;
  /**
   * The longest a cached answer may be out of date (ms). Needed to cache active keys at all on a
   * store that cannot announce revocations (then a revoked key may pass for up to this long);
   * on a store that can, it further caps `ttlMs`.
   */
  maxStalenessMs?: number | undefined;
  /** How long "no such key" is kept (ms). Default `min(ttlMs, 5000)`; `0` turns it off. */
  negativeTtlMs?: number | undefined;
}

/** @internal */
export const cacheSchema = z.strictObject({
  ttlMs: z.number().int().positive(),
  max: z.number().int().positive(),
  maxStalenessMs: z.number().int().nonnegative().optional(),
  negativeTtlMs: z.number().int().nonnegative().optional(),
});

type Lookup = (scheme: string, digest: string) => ApiKeyRecord | null | Promise<ApiKeyRecord | null>;

const PLAIN = "sha256:";

/**
 * The cache's key for a hash given as its scheme and its digest's bytes (one character per byte):
 * the bare digest for plain SHA-256 (no string joined on the request path), else scheme + digest.
 * One-to-one on the hashes the authenticator looks up: a bare digest is 32 characters, a joined
 * key at least 46 (`hmac-sha256:` + version + `:` + 32), so the two never meet.
 */
function keyOf(scheme: string, digest: string): string {
  return scheme === PLAIN ? digest : scheme + digest;
}

/** The cache's key for a whole stored hash, as in a revocation announcement. */
function keyOfHash(hash: string): string {
  const cut = hash.lastIndexOf(":") + 1;
  const digest = hexToLatin1(hash.slice(cut));
  return digest === null ? hash : keyOf(hash.slice(0, cut), digest);
}

interface Entry {
  readonly hash: string;
  readonly record: ApiKeyRecord;
  readonly expires: number;
  /** Set on a hit, cleared when eviction passes over it (a second chance: LRU-ish, O(1) per hit). */
  used: boolean;
  older: Entry | null;
  newer: Entry | null;
}

/** A "no such key" answer, kept until `until`. */
interface Miss {
  readonly hash: string;
  readonly until: number;
  older: Miss | null;
  newer: Miss | null;
}

/**
 * `idle`: not subscribed yet (nothing runs until the first request); `down`: the channel is not
 * live, bypass; `up`: live, cache; `none`: the store has no channel (negatives and, with
 * `maxStalenessMs`, bounded positives only).
 */
type ChannelState = "idle" | "down" | "up" | "none";

/** @internal */
export class VerificationCache {
  /** Found keys in eviction order (oldest first). */
  private readonly found = new RecencyList<Entry>();
  /**
   * The same entries for reading on a hit: a digest table takes the digest's own characters for
   * a slot, where a `Map` would hash each request's new digest string again.
   */
  private readonly index = new DigestMap<Entry>();
  private readonly missing = new Map<string, Miss>();
  /** The same answers, oldest first: past `max`, the oldest is dropped. */
  private readonly missingOrder = new RecencyList<Miss>();
  /** Lookups in flight, with the time each started (a request may share one: see lookup). */
  private readonly inflight = new Map<string, { readonly answer: Promise<ApiKeyRecord | null>; readonly startedAt: number }>();
  private generation = 0;
  private state: ChannelState = "idle";
  private unsubscribe: (() => void) | undefined;
  private readonly positiveTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly max: number;
  /** The user accepted stale answers (`maxStalenessMs`): positives are cached even without a channel. */
  private readonly staleOk: boolean;

  constructor(
    private readonly store: KeyStore,
    options: VerificationCacheOptions,
  ) {
    this.positiveTtlMs = Math.min(options.ttlMs, options.maxStalenessMs ?? Infinity);
    this.negativeTtlMs = Math.min(options.negativeTtlMs ?? Math.min(options.ttlMs, 5_000), options.maxStalenessMs ?? Infinity);
    this.max = options.max;
    this.staleOk = options.maxStalenessMs !== undefined;
  }

  /**
   * The record for the hash `scheme` + `digest` from memory, or from `load` (sync when both are).
   * `now` is the request's time, read once by the authenticator for this and its own checks.
   */
  lookup(scheme: string, digest: string, load: Lookup, now: number): ApiKeyRecord | null | Promise<ApiKeyRecord | null> {
    if (this.state === "idle") this.start();
    if (this.state === "down") return load(scheme, digest);
    const hash = keyOf(scheme, digest);
    const entry = this.index.get(hash);
    if (entry !== undefined) {
      if (entry.expires > now) {
        entry.used = true;
        return entry.record;
      }
      this.dropFound(entry);
    } else {
      const miss = this.missing.get(hash);
      if (miss !== undefined) {
        if (miss.until > now) return null;
        this.dropMiss(miss);
      }
    }
    const pending = this.inflight.get(hash);
    // Sharing an earlier lookup is safe only while a revocation since it started would have
    // dropped it: announcements do that when the channel is up. A store without them never says,
    // so its answer (maybe read before a revocation committed) is shared only within the
    // staleness the user accepted, none by default: else a request sent after revoke() resolved
    // could pass on it.
    if (pending !== undefined && (this.state === "up" || (this.staleOk && now < pending.startedAt + this.positiveTtlMs))) {
      return pending.answer;
    }
    const generation = this.generation;
    const result = load(scheme, digest);
    if (!(result instanceof Promise)) {
      this.keep(hash, result, generation, now);
      return result;
    }
    const settled = result.then(
      (record) => {
        if (this.inflight.get(hash)?.answer === settled) this.inflight.delete(hash);
        this.keep(hash, record, generation, now);
        return record;
      },
      (error: unknown) => {
        if (this.inflight.get(hash)?.answer === settled) this.inflight.delete(hash);
        throw error;
      },
    );
    // Concurrent misses on one hash share one store round trip (within the rule above).
    this.inflight.set(hash, { answer: settled, startedAt: now });
    return settled;
  }

  /** Unsubscribe and forget everything; the next lookup subscribes again. */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.state = "idle";
    this.invalidateAll();
  }

  private keep(hash: string, record: ApiKeyRecord | null, generation: number, startedAt: number): void {
    // An invalidation (announcement, channel change, close) happened since the lookup started:
    // its answer may predate a revocation, so it is used once and not kept.
    if (generation !== this.generation || this.state === "down" || this.state === "idle") return;
    if (record === null) {
      if (this.negativeTtlMs > 0) this.keepMiss(hash, startedAt + this.negativeTtlMs);
      return;
    }
    if (this.state === "none" && !this.staleOk && !cannotPass(record, startedAt)) return;
    const found = this.found;
    const earlier = this.index.get(hash);
    if (earlier !== undefined) found.remove(earlier);
    const entry: Entry = { hash, record, expires: startedAt + this.positiveTtlMs, used: false, older: null, newer: null };
    found.push(entry);
    this.index.set(hash, entry);
    // Evict the oldest entry not used since eviction last passed it; used ones go to the young
    // end with their mark cleared, so this ends within one pass (O(1) per request on average).
    for (let oldest = found.oldest; found.size > this.max && oldest !== null; oldest = found.oldest) {
      if (oldest.used && oldest !== entry) {
        oldest.used = false;
        found.remove(oldest);
        found.push(oldest);
      } else {
        this.dropFound(oldest);
      }
    }
  }

  /** Keep "no such key" for `hash` until `until`, dropping the oldest such answer past `max`. */
  private keepMiss(hash: string, until: number): void {
    const earlier = this.missing.get(hash);
    if (earlier !== undefined) this.missingOrder.remove(earlier);
    const miss: Miss = { hash, until, older: null, newer: null };
    this.missing.set(hash, miss);
    this.missingOrder.push(miss);
    const oldest = this.missingOrder.oldest;
    if (this.missingOrder.size > this.max && oldest !== null) this.dropMiss(oldest);
  }

  private dropFound(entry: Entry): void {
    this.found.remove(entry);
    this.index.delete(entry.hash);
  }

  private dropMiss(miss: Miss): void {
    this.missingOrder.remove(miss);
    this.missing.delete(miss.hash);
  }

  private start(): void {
    if (typeof this.store.subscribeRevocations !== "function") {
      this.state = "none";
      return;
    }
    // Until the store says otherwise the channel is live (a store that never calls onStatus, like
    // MemoryKeyStore, is live at once); a networked store says `false` during this call.
    this.state = "down";
    let told = false;
    this.unsubscribe = this.store.subscribeRevocations(
      (revocation) => {
        this.generation++;
        const hash = keyOfHash(revocation.hash);
        const entry = this.index.get(hash);
        if (entry !== undefined) this.dropFound(entry);
        const miss = this.missing.get(hash);
        if (miss !== undefined) this.dropMiss(miss);
        this.inflight.delete(hash);
      },
      (connected) => {
        told = true;
        if (this.state === "idle") return;
        // Either way the past is suspect: while down, announcements may have been missed.
        this.state = connected ? "up" : "down";
        this.invalidateAll();
      },
    );
    if (!told) this.state = "up";
  }

  private invalidateAll(): void {
    this.generation++;
    this.found.clear();
    this.index.clear();
    this.missing.clear();
    this.missingOrder.clear();
    this.inflight.clear();
  }
}

/** A record that can never be accepted again: revoked or expired already. */
function cannotPass(record: ApiKeyRecord, now: number): boolean {
  return (
    revokedAtTime(record, now) ||
    (record.expiresAt !== null && record.expiresAt.getTime() <= now)
  );
}

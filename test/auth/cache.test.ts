import { describe, expect, it } from "vitest";
import {
  createApiKeyAuth,
  createKeyManager,
  generateApiKey,
  hashApiKey,
  isApiKeyError,
  MemoryKeyStore,
  type ApiKeyRecord,
  type ApiKeyRevocation,
  type KeyStore,
} from "../../src/index.js";
import { createFakeClock, makeTestRecord } from "../../src/testing/index.js";

const get = (key: string) => ({ authorization: `Bearer ${key}`, method: "GET" });

/**
 * A memory store seen as a networked one: every getByHash is counted and asynchronous (so the
 * cache, not the memory fast path, answers), can be held open, and the announcement channel's
 * status is driven by the test.
 */
class ControlledStore extends MemoryKeyStore {
  lookups = 0;
  subscriptions = 0;
  private gate: Promise<void> | undefined;
  private statusListeners = new Set<(connected: boolean) => void>();

  override async getByHash(hash: string): Promise<ApiKeyRecord | null> {
    this.lookups++;
    // Read now, answer later: what a database answers if a revocation commits meanwhile.
    const record = await super.getByHash(hash);
    if (this.gate !== undefined) await this.gate;
    return record;
  }

  /** Hold every lookup started from now until the returned function is called. */
  hold(): () => void {
    let release: () => void = () => {};
    this.gate = new Promise<void>((r) => (release = r));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  override subscribeRevocations(listener: (r: ApiKeyRevocation) => void, onStatus?: (connected: boolean) => void): () => void {
    this.subscriptions++;
    const stop = super.subscribeRevocations(listener);
    if (onStatus !== undefined) this.statusListeners.add(onStatus);
    return () => {
      this.subscriptions--;
      stop();
      if (onStatus !== undefined) this.statusListeners.delete(onStatus);
    };
  }

  setChannel(connected: boolean): void {
    for (const s of this.statusListeners) s(connected);
  }
}

/** The same store without announcements at all. */
function withoutAnnouncements(store: ControlledStore): KeyStore {
  return {
    insert: (r) => store.insert(r),
    getByHash: (h) => store.getByHash(h),
    getById: (id) => store.getById(id),
    listByAccount: (a) => store.listByAccount(a),
    revoke: (id, o) => store.revoke(id, o),
    recordUsage: (b) => store.recordUsage(b),
  };
}

async function setup(cache = { ttlMs: 60_000, max: 100 }) {
  const store = new ControlledStore();
  const manager = createKeyManager({ store });
  const actor = { id: "usr_admin", admin: true };
  const created = await manager.create({ accountId: "acc_1", actor, name: "Production", environment: "prod" });
  const auth = createApiKeyAuth({ store, cache });
  const revoke = () => manager.revoke({ accountId: "acc_1", actor, id: created.record.id });
  return { store, manager, actor, auth, key: created.key, record: created.record, revoke };
}

describe("verification cache (DESIGN §5: a hit costs what the memory store costs)", () => {
  it("a repeated key is answered from memory: one store lookup for many requests", async () => {
    const { store, auth, key } = await setup();
    for (let i = 0; i < 5; i++) expect((await auth.authenticate(get(key))).ok).toBe(true);
    expect(store.lookups).toBe(1);
    await auth.close();
  });

  it("concurrent misses on one key share one store round trip", async () => {
    const { store, auth, key } = await setup();
    const results = await Promise.all(Array.from({ length: 10 }, () => auth.authenticate(get(key))));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(store.lookups).toBe(1);
    await auth.close();
  });

  it("is bounded: beyond `max` keys the least recently used one is dropped", async () => {
    const { store, manager, actor, auth, key } = await setup({ ttlMs: 60_000, max: 2 });
    const second = await manager.create({ accountId: "acc_1", actor, name: "Second" });
    const third = await manager.create({ accountId: "acc_1", actor, name: "Third" });
    await auth.authenticate(get(key));
    await auth.authenticate(get(second.key));
    await auth.authenticate(get(key)); // key is now the most recently used
    await auth.authenticate(get(third.key)); // evicts second
    expect(store.lookups).toBe(3);
    await auth.authenticate(get(key));
    expect(store.lookups).toBe(3);
    await auth.authenticate(get(second.key));
    expect(store.lookups).toBe(4);
    await auth.close();
  });

  it("found keys expire after ttlMs", async () => {
    const store = new ControlledStore();
    const clock = createFakeClock();
    const { key, record } = await (async () => {
      const g = generateApiKey({ environment: "prod" });
      const r = makeTestRecord({ hash: hashApiKey(g.key), hint: g.hint, environment: "prod" });
      await store.insert(r);
      return { key: g.key, record: r };
    })();
    const auth = createApiKeyAuth({ store, clock, cache: { ttlMs: 1_000, max: 10 } });
    await auth.authenticate(get(key));
    clock.advance(999);
    await auth.authenticate(get(key));
    expect(store.lookups).toBe(1);
    clock.advance(1);
    const r = await auth.authenticate(get(key));
    expect(r.ok && r.key.id).toBe(record.id);
    expect(store.lookups).toBe(2);
    await auth.close();
  });
});

describe("DESIGN §9: no request is let in after revoke() resolves (cache on)", () => {
  it("a revocation announcement drops the cached key at once", async () => {
    const { store, auth, key, revoke } = await setup();
    expect((await auth.authenticate(get(key))).ok).toBe(true);
    await revoke();
    const after = await auth.authenticate(get(key));
    expect(!after.ok && after.reason).toBe("revoked");
    expect(store.lookups).toBe(2);
    await auth.close();
  });

  it("with peppers (current and older), announcements drop the cached key whichever pepper found it", async () => {
    const store = new ControlledStore();
    const actor = { id: "usr_admin", admin: true };
    const old = { version: "1", secret: "old-pepper" };
    const current = { version: "2", secret: "new-pepper" };
    const oldManager = createKeyManager({ store, pepper: old });
    const newManager = createKeyManager({ store, pepper: [current, old] });
    const a = await oldManager.create({ accountId: "acc_1", actor, name: "Made under the old pepper" });
    const b = await newManager.create({ accountId: "acc_1", actor, name: "Made under the new pepper" });
    const auth = createApiKeyAuth({ store, pepper: [current, old], cache: { ttlMs: 60_000, max: 100 } });
    for (const made of [a, b]) expect((await auth.authenticate(get(made.key))).ok).toBe(true);
    const warm = store.lookups;
    for (const made of [a, b]) expect((await auth.authenticate(get(made.key))).ok).toBe(true);
    expect(store.lookups).toBe(warm); // both answered from memory
    for (const made of [a, b]) {
      await newManager.revoke({ accountId: "acc_1", actor, id: made.record.id });
      const after = await auth.authenticate(get(made.key));
      expect(!after.ok && after.reason).toBe("revoked");
    }
    await auth.close();
  });

  it("a lookup that started before a revocation never puts the revoked key back", async () => {
    const { store, auth, key, revoke } = await setup();
    const release = store.hold();
    // This lookup reads the key while it is active, then is held open.
    const inFlight = auth.authenticate(get(key));
    await Promise.resolve();
    expect(store.lookups).toBe(1);
    await revoke(); // committed and announced while the lookup is still open
    release();
    // The request that started before revoke() may pass: it is not "after".
    expect((await inFlight).ok).toBe(true);
    // But its stale answer was not kept: the next request reads the store and is refused.
    const after = await auth.authenticate(get(key));
    expect(!after.ok && after.reason).toBe("revoked");
    expect(store.lookups).toBe(2);
    await auth.close();
  });

  it("a request arriving after the announcement does not join a lookup started before it", async () => {
    const { store, auth, key, revoke } = await setup();
    const release = store.hold();
    const before = auth.authenticate(get(key));
    await Promise.resolve();
    await revoke();
    const after = auth.authenticate(get(key));
    release();
    expect((await before).ok).toBe(true);
    const r = await after;
    expect(!r.ok && r.reason).toBe("revoked");
    await auth.close();
  });

  it("when the announcement channel drops, the cache is flushed and bypassed until it is back", async () => {
    const { store, auth, key } = await setup();
    await auth.authenticate(get(key));
    await auth.authenticate(get(key));
    expect(store.lookups).toBe(1);
    store.setChannel(false);
    await auth.authenticate(get(key));
    await auth.authenticate(get(key));
    expect(store.lookups).toBe(3);
    store.setChannel(true);
    await auth.authenticate(get(key));
    await auth.authenticate(get(key));
    expect(store.lookups).toBe(4);
    await auth.close();
  });

  it("a lookup that started while the channel was down is not kept after it comes back", async () => {
    const { store, auth, key } = await setup();
    await auth.authenticate(get(key)); // subscribe
    store.setChannel(false);
    const release = store.hold();
    const during = auth.authenticate(get(key));
    await Promise.resolve();
    store.setChannel(true);
    release();
    await during;
    await auth.authenticate(get(key));
    expect(store.lookups).toBe(3);
    await auth.close();
  });
});

describe("cache without announcements, and not-found answers", () => {
  it("a store that cannot announce revocations gets no cached active keys by default", async () => {
    const inner = new ControlledStore();
    const store = withoutAnnouncements(inner);
    const { key } = await createKeyManager({ store }).create({ accountId: "a", actor: { id: "u", admin: true }, name: "K" });
    const auth = createApiKeyAuth({ store, cache: { ttlMs: 60_000, max: 10 } });
    await auth.authenticate(get(key));
    await auth.authenticate(get(key));
    expect(inner.lookups).toBe(2);
    await auth.close();
  });

  it("with maxStalenessMs it caches active keys, never longer than that bound", async () => {
    const inner = new ControlledStore();
    const store = withoutAnnouncements(inner);
    const clock = createFakeClock();
    const g = generateApiKey({ environment: "prod" });
    await store.insert(makeTestRecord({ hash: hashApiKey(g.key), hint: g.hint, environment: "prod" }));
    const auth = createApiKeyAuth({ store, clock, cache: { ttlMs: 60_000, max: 10, maxStalenessMs: 5_000 } });
    await auth.authenticate(get(g.key));
    clock.advance(4_999);
    await auth.authenticate(get(g.key));
    expect(inner.lookups).toBe(1);
    clock.advance(1);
    await auth.authenticate(get(g.key));
    expect(inner.lookups).toBe(2);
    await auth.close();
  });

  it("an unknown key is remembered for negativeTtlMs only, so a key created later works soon after", async () => {
    const store = new ControlledStore();
    const clock = createFakeClock();
    const g = generateApiKey({ environment: "prod" });
    const auth = createApiKeyAuth({ store, clock, cache: { ttlMs: 60_000, max: 10, negativeTtlMs: 2_000 } });
    const first = await auth.authenticate(get(g.key));
    expect(!first.ok && first.reason).toBe("unknown");
    await auth.authenticate(get(g.key));
    expect(store.lookups).toBe(1);
    await store.insert(makeTestRecord({ hash: hashApiKey(g.key), hint: g.hint, environment: "prod" }));
    clock.advance(2_000);
    expect((await auth.authenticate(get(g.key))).ok).toBe(true);
    await auth.close();
  });

  it("keeps at most `max` unknown keys, dropping the one remembered longest ago, however many came and went", async () => {
    const store = new ControlledStore();
    const keys = Array.from({ length: 40 }, () => generateApiKey({ environment: "prod" }).key);
    const auth = createApiKeyAuth({ store, cache: { ttlMs: 60_000, max: 3, negativeTtlMs: 60_000 } });
    // A flood far past `max` (each unknown key is remembered, then pushed out by later ones).
    for (const key of keys) await auth.authenticate(get(key));
    expect(store.lookups).toBe(40);
    // The last three are still remembered; the fourth from the end was dropped.
    for (const key of keys.slice(-3)) await auth.authenticate(get(key));
    expect(store.lookups).toBe(40);
    await auth.authenticate(get(keys[36] as string));
    expect(store.lookups).toBe(41);
    // Remembering keys[36] again pushed out the oldest of the three (keys[37]), not a newer one.
    await auth.authenticate(get(keys[39] as string));
    expect(store.lookups).toBe(41);
    await auth.authenticate(get(keys[37] as string));
    expect(store.lookups).toBe(42);
    await auth.close();
  });

  it("negativeTtlMs: 0 never remembers an unknown key", async () => {
    const store = new ControlledStore();
    const g = generateApiKey({ environment: "prod" });
    const auth = createApiKeyAuth({ store, cache: { ttlMs: 60_000, max: 10, negativeTtlMs: 0 } });
    await auth.authenticate(get(g.key));
    await store.insert(makeTestRecord({ hash: hashApiKey(g.key), hint: g.hint, environment: "prod" }));
    expect((await auth.authenticate(get(g.key))).ok).toBe(true);
    await auth.close();
  });
});

describe("cache lifecycle and options", () => {
  it("subscribes on the first request, not at creation, and close() unsubscribes", async () => {
    const { store, auth, key } = await setup();
    expect(store.subscriptions).toBe(0);
    await auth.authenticate(get(key));
    expect(store.subscriptions).toBe(1);
    await auth.close();
    expect(store.subscriptions).toBe(0);
    // Still usable after close(): it subscribes again.
    expect((await auth.authenticate(get(key))).ok).toBe(true);
    expect(store.subscriptions).toBe(1);
    await auth.close();
  });

  it("a bad cache option throws INVALID_OPTIONS naming it", () => {
    const name = (cache: unknown) => {
      try {
        createApiKeyAuth({ store: new MemoryKeyStore(), cache: cache as never });
      } catch (error) {
        return isApiKeyError(error) && error.code === "INVALID_OPTIONS" ? error.field : String(error);
      }
      return "accepted";
    };
    expect(name({ ttlMs: 0, max: 10 })).toBe("cache.ttlMs");
    expect(name({ ttlMs: 1000, max: 1.5 })).toBe("cache.max");
    expect(name({ ttlMs: 1000, max: 10, maxStalenessMs: -1 })).toBe("cache.maxStalenessMs");
    expect(name({ ttlMs: 1000, max: 10, ttl: 5 })).toBe("cache.ttl");
    expect(name({ ttlMs: 1000, max: 10 })).toBe("accepted");
  });
});

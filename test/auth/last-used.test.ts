import { afterEach, describe, expect, it, vi } from "vitest";
import { createApiKeyAuth, hashApiKey, MemoryKeyStore, type ApiKeyUsage } from "../../src/index.js";
import { makeWorld } from "../support/world.js";

class CountingStore extends MemoryKeyStore {
  batches: ApiKeyUsage[][] = [];
  override async recordUsage(batch: readonly ApiKeyUsage[]): Promise<void> {
    this.batches.push([...batch]);
    await super.recordUsage(batch);
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("last used is coalesced off the request path (DESIGN §8)", () => {
  it("many requests on one key make at most one store write per interval, flushed by close()", async () => {
    const w = await makeWorld();
    const store = new CountingStore();
    for (const r of await w.store.listByAccount("acc_pro")) await store.insert(r);
    const auth = createApiKeyAuth({ store, accounts: w.accounts, clock: w.clock, lastUsedIntervalMs: 60_000 });
    for (let i = 0; i < 1_000; i++) {
      const r = await auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" });
      expect(r.ok).toBe(true);
    }
    expect(store.batches).toHaveLength(0); // no request waited for a write
    await auth.close();
    expect(store.batches).toHaveLength(1);
    expect(store.batches[0]).toEqual([{ id: w.records.prod.id, lastUsedAt: new Date(w.clock.now()) }]);
    expect((await store.getById(w.records.prod.id))?.lastUsedAt?.getTime()).toBe(w.clock.now());
  });

  it("the timer writes one batch per interval and never more often", async () => {
    vi.useFakeTimers();
    const store = new CountingStore();
    const w = await makeWorld();
    for (const r of await w.store.listByAccount("acc_pro")) await store.insert(r);
    const auth = createApiKeyAuth({ store, accounts: w.accounts, lastUsedIntervalMs: 60_000 });
    const hit = () => auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" });
    await hit();
    await vi.advanceTimersByTimeAsync(59_000);
    expect(store.batches).toHaveLength(0); // the first write waits one interval too
    await vi.advanceTimersByTimeAsync(1_000);
    expect(store.batches).toHaveLength(1);
    const afterFirst = store.batches.length;
    for (let s = 0; s < 120; s++) {
      await hit();
      await hit();
      await vi.advanceTimersByTimeAsync(1_000);
    }
    // 121 s of traffic: at most one write per 60 s window, plus the first.
    expect(store.batches.length - afterFirst).toBeLessThanOrEqual(2);
    expect(store.batches.length).toBeGreaterThanOrEqual(2);
    for (const batch of store.batches) expect(batch.filter((u) => u.id === w.records.prod.id)).toHaveLength(1);
    await auth.close();
  });

  it("leaves no timer keeping the process alive (timers are unref'd)", async () => {
    const store = new MemoryKeyStore();
    const w = await makeWorld();
    for (const r of await w.store.listByAccount("acc_pro")) await store.insert(r);
    const spy = vi.spyOn(globalThis, "setTimeout");
    const auth = createApiKeyAuth({ store });
    await auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" });
    const timers = spy.mock.results.map((r) => r.value as { hasRef?: () => boolean });
    spy.mockRestore();
    expect(timers.length).toBeGreaterThan(0);
    for (const t of timers) expect(t.hasRef?.()).toBe(false);
    await auth.close();
  });

  it("a failing usage write is kept for the next flush and never fails a request", async () => {
    const w = await makeWorld();
    let fail = true;
    const store = new CountingStore();
    for (const r of await w.store.listByAccount("acc_pro")) await store.insert(r);
    const original = store.recordUsage.bind(store);
    store.recordUsage = async (batch) => {
      if (fail) throw new Error("db down");
      return original(batch);
    };
    const auth = createApiKeyAuth({ store, clock: w.clock });
    expect((await auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" })).ok).toBe(true);
    await auth.close();
    expect((await store.getById(w.records.prod.id))?.lastUsedAt).toBeNull();
    fail = false;
    await auth.close();
    expect((await store.getById(w.records.prod.id))?.lastUsedAt?.getTime()).toBe(w.clock.now());
  });

  it("refused requests record no usage", async () => {
    const w = await makeWorld();
    const store = new CountingStore();
    for (const r of await w.store.listByAccount("acc_pro")) await store.insert(r);
    const auth = createApiKeyAuth({ store });
    await auth.authenticate({ authorization: `Bearer ${w.keys.revoked}`, method: "GET" });
    await auth.authenticate({ authorization: `Bearer ${w.keys.dev}`, method: "POST" });
    await auth.close();
    expect(store.batches).toHaveLength(0);
    expect(hashApiKey(w.keys.prod)).toBe(w.records.prod.hash);
  });
});

describe("a last-used write that never answers (it gets the store's time limit)", () => {
  it("does not keep close() from resolving, and later writes still reach the store", async () => {
    const w = await makeWorld();
    const store = new CountingStore();
    for (const r of await w.store.listByAccount("acc_pro")) await store.insert(r);
    const original = store.recordUsage.bind(store);
    let hang = true;
    store.recordUsage = (batch) => (hang ? new Promise<void>(() => {}) : original(batch));
    const auth = createApiKeyAuth({ store, clock: w.clock, timeouts: { storeMs: 100 } });
    expect((await auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" })).ok).toBe(true);
    const started = Date.now();
    await auth.close(); // the hung write is given up after storeMs; its time is kept for a retry
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await store.getById(w.records.prod.id))?.lastUsedAt).toBeNull();
    hang = false;
    await auth.close();
    expect((await store.getById(w.records.prod.id))?.lastUsedAt?.getTime()).toBe(w.clock.now());
  });
});

describe("timer options are capped at what a timer can wait (2^31 - 1 ms)", () => {
  it("a longer lastUsedIntervalMs or timeout is refused at setup, naming the option", () => {
    const store = new MemoryKeyStore();
    expect(() => createApiKeyAuth({ store, lastUsedIntervalMs: 30 * 864e5 })).toThrow(/lastUsedIntervalMs/);
    expect(() => createApiKeyAuth({ store, timeouts: 2 ** 31 })).toThrow(/timeouts/);
    expect(() => createApiKeyAuth({ store, timeouts: { storeMs: 2 ** 31 } })).toThrow(/timeouts\.storeMs/);
    expect(() => createApiKeyAuth({ store, lastUsedIntervalMs: 2 ** 31 - 1 })).not.toThrow();
  });
});

/**
 * A runtime that drops timers without running them (Cloudflare Workers cancel a request's timers
 * once it has answered): simulated by a setTimeout/setInterval that never calls back.
 */
describe("timers the runtime dropped (Workers) do not stop last-used writes or time limits", () => {
  function dropTimers(which: "setTimeout" | "setInterval"): { dropped: () => number; restore: () => void } {
    let dropped = 0;
    const spy = vi.spyOn(globalThis, which).mockImplementation((() => {
      dropped++;
      return { unref() {}, ref() {} } as unknown as ReturnType<typeof setTimeout>;
    }) as never);
    return { dropped: () => dropped, restore: () => spy.mockRestore() };
  }

  it("the first use after the batch was due writes it, and hands the write to waitUntil", async () => {
    const w = await makeWorld();
    const store = new CountingStore();
    for (const r of await w.store.listByAccount("acc_pro")) await store.insert(r);
    const handed: Promise<unknown>[] = [];
    const auth = createApiKeyAuth({ store, clock: w.clock, lastUsedIntervalMs: 50, waitUntil: (p) => handed.push(p) });
    const hit = () => auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" });
    const timers = dropTimers("setTimeout");
    try {
      expect((await hit()).ok).toBe(true);
      expect(timers.dropped()).toBe(1); // the flush timer, which will never run
      expect((await hit()).ok).toBe(true); // before it was due: nothing written
      expect(store.batches).toHaveLength(0);
      w.clock.advance(49); // not due yet (the interval is measured on the authenticator's clock)
      expect((await hit()).ok).toBe(true);
      expect(handed).toHaveLength(0);
      w.clock.advance(1); // due now, and the dropped timer will never run
      expect((await hit()).ok).toBe(true);
      expect(handed).toHaveLength(1);
      await handed[0];
      expect(store.batches).toHaveLength(1);
      expect((await store.getById(w.records.prod.id))?.lastUsedAt?.getTime()).toBe(w.clock.now());
      // and the next batch is scheduled again (one more timer), not written at once
      const before = timers.dropped();
      expect((await hit()).ok).toBe(true);
      expect(timers.dropped()).toBe(before + 1);
      expect(store.batches).toHaveLength(1);
    } finally {
      timers.restore();
    }
    await auth.close();
  });

  it("a waitUntil that throws changes nothing: the request passes and the write still happens", async () => {
    const w = await makeWorld();
    const store = new CountingStore();
    for (const r of await w.store.listByAccount("acc_pro")) await store.insert(r);
    const auth = createApiKeyAuth({
      store,
      clock: w.clock,
      lastUsedIntervalMs: 20,
      waitUntil: () => {
        throw new TypeError("Illegal invocation");
      },
    });
    const hit = () => auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" });
    expect((await hit()).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 60)); // the real timer runs the write
    expect(store.batches).toHaveLength(1);
    await auth.close();
  });

  it("a request whose timers were dropped does not take another request's time limit with it", async () => {
    const w = await makeWorld();
    const store = new MemoryKeyStore();
    for (const r of await w.store.listByAccount("acc_pro")) await store.insert(r);
    store.getByHash = () => new Promise(() => {}); // a store that never answers
    const auth = createApiKeyAuth({ store, clock: w.clock, timeouts: 100 });
    const hit = () => auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" });
    // Request 1's timers are dropped (its client went away and the runtime cancelled them).
    const timeouts = dropTimers("setTimeout");
    const intervals = dropTimers("setInterval");
    try {
      void hit();
      expect(timeouts.dropped() + intervals.dropped()).toBeGreaterThan(0);
    } finally {
      timeouts.restore();
      intervals.restore();
    }
    // Request 2, at once: its own limit still gives it the 503.
    const started = Date.now();
    expect(await hit()).toMatchObject({ ok: false, status: 503, reason: "unavailable" });
    expect(Date.now() - started).toBeLessThan(1_000);
    await auth.close();
  });

  it("waitUntil must be a function (checked at setup)", () => {
    expect(() => createApiKeyAuth({ store: new MemoryKeyStore(), waitUntil: "yes" as never })).toThrow(/"waitUntil"/);
  });
});

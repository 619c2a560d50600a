import { afterEach, describe, expect, it, vi } from "vitest";
import { UsageRecorder } from "../../src/auth/usage-recorder.js";
import { createApiKeyAuth, hashApiKey, MemoryKeyStore, type ApiKeyUsage, type KeyStore } from "../../src/index.js";
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

/** A store whose last-used writes never answer while `hang` is set; notes when each one started. */
class HangingUsageStore extends MemoryKeyStore {
  hang = true;
  starts: number[] = [];
  batches: ApiKeyUsage[][] = [];
  override recordUsage(batch: readonly ApiKeyUsage[]): Promise<void> {
    this.starts.push(Date.now());
    this.batches.push([...batch]);
    return this.hang ? new Promise<void>(() => {}) : super.recordUsage(batch);
  }
}

describe("last-used writes are independent: a hung one holds back no later write, nor close() (docs/authenticator.md)", () => {
  it("with a store that never answers, a write starts every interval on schedule; close() waits one time limit; the given-up times are written later", async () => {
    vi.useFakeTimers();
    const w = await makeWorld();
    const store = new HangingUsageStore();
    for (const r of await w.store.listByAccount("acc_pro")) await store.insert(r);
    const auth = createApiKeyAuth({ store, accounts: w.accounts, lastUsedIntervalMs: 500, timeouts: { storeMs: 2_000 } });
    const hit = () => auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" });
    const begin = Date.now();
    let last = 0;
    for (let ms = 0; ms < 10_000; ms += 100) {
      expect((await hit()).ok).toBe(true);
      last = Date.now();
      await vi.advanceTimersByTimeAsync(100);
    }
    // 10 s of traffic, one write due every 500 ms: ~20 writes started (chained behind 2 s time
    // limits it was 5), each an interval after the one before, never sooner.
    expect(store.starts.length).toBeGreaterThanOrEqual(19);
    expect(store.starts.length).toBeLessThanOrEqual(20);
    expect(store.starts[0]! - begin).toBe(500);
    for (let i = 1; i < store.starts.length; i++) {
      expect(store.starts[i]! - store.starts[i - 1]!).toBeGreaterThanOrEqual(500);
      expect(store.starts[i]! - store.starts[i - 1]!).toBeLessThanOrEqual(600);
    }
    // close() writes what is pending and waits for the writes in flight, each given up at its
    // own time limit: one time limit at most (it was the whole chain, 30 s).
    let closed = false;
    void auth.close().then(() => (closed = true));
    const closeStarted = Date.now();
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toBe(false); // it does wait for the writes in flight
    expect(store.starts.at(-1)).toBe(closeStarted); // and started its own at once
    await vi.advanceTimersByTimeAsync(2_000);
    expect(closed).toBe(true);
    expect(await store.getById(w.records.prod.id)).toMatchObject({ lastUsedAt: null });
    // Every write was given up and its times kept: the store, back, gets the latest one.
    store.hang = false;
    const writes = store.batches.length;
    await auth.close();
    expect(store.batches.slice(writes)).toEqual([[{ id: w.records.prod.id, lastUsedAt: new Date(last) }]]);
    expect((await store.getById(w.records.prod.id))?.lastUsedAt?.getTime()).toBe(last);
  });

  it("UsageRecorder: a flush starts its write at once while an earlier one hangs, waits for both, and keeps a failed batch's times (the later per key)", async () => {
    const batches: ApiKeyUsage[][] = [];
    const store = {
      recordUsage: (batch: readonly ApiKeyUsage[]) => {
        batches.push([...batch]);
        return new Promise<void>(() => {}); // never answers: the limit below decides
      },
    } as unknown as KeyStore;
    // The time limit of each write, settled by hand: resolve = the store answered, reject = timed out.
    const limits: { resolve: () => void; reject: (e: unknown) => void }[] = [];
    const recorder = new UsageRecorder(store, 60_000, () => new Promise<void>((resolve, reject) => void limits.push({ resolve, reject })));
    const settled = () => new Promise((r) => setTimeout(r, 0));

    recorder.note("key_a", 100);
    recorder.note("key_b", 100);
    let firstDone = false;
    void recorder.flush().then(() => (firstDone = true));
    expect(batches).toEqual([[{ id: "key_a", lastUsedAt: new Date(100) }, { id: "key_b", lastUsedAt: new Date(100) }]]);

    recorder.note("key_a", 300);
    let secondDone = false;
    void recorder.flush().then(() => (secondDone = true));
    // Started at once, not behind the first write.
    expect(batches).toHaveLength(2);
    expect(batches[1]).toEqual([{ id: "key_a", lastUsedAt: new Date(300) }]);

    limits[1]!.resolve(); // the second write answers…
    await settled();
    expect(secondDone).toBe(false); // …but the second flush also waits for the first, in flight when it was called
    expect(firstDone).toBe(false);

    recorder.note("key_a", 400); // a later use, pending while the first write is still out
    limits[0]!.reject(new Error("No answer within 2000 ms")); // the first write times out
    await settled();
    expect(firstDone).toBe(true);
    expect(secondDone).toBe(true);
    // Its times went back to pending, the later one per key winning: key_a 400 (not 100), key_b 100.
    expect(recorder.size).toBe(2);
    void recorder.flush();
    expect(batches[2]).toEqual([{ id: "key_a", lastUsedAt: new Date(400) }, { id: "key_b", lastUsedAt: new Date(100) }]);
    limits[2]!.resolve();
    await settled();
    expect(recorder.size).toBe(0);
    // Nothing pending, nothing in flight: flush resolves at once and writes nothing.
    await recorder.flush();
    expect(batches).toHaveLength(3);
  });

  it("UsageRecorder: a store that throws instead of rejecting loses no times and blocks no later write", async () => {
    let calls = 0;
    const store = {
      recordUsage: () => {
        calls++;
        if (calls === 1) throw new Error("sync failure");
        return Promise.resolve();
      },
    } as unknown as KeyStore;
    const recorder = new UsageRecorder(store, 60_000);
    recorder.note("key_a", 100);
    await recorder.flush();
    expect(recorder.size).toBe(1);
    await recorder.flush();
    expect(calls).toBe(2);
    expect(recorder.size).toBe(0);
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

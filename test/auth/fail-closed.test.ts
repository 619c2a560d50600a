import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKeyAuth, MemoryKeyStore, type KeyStore } from "../../src/index.js";
import { makeWorld } from "../support/world.js";

const UNAVAILABLE = { success: false, error: { code: "SERVICE_UNAVAILABLE", message: "Authentication is temporarily unavailable" } };

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
});

function storeWith(getByHash: KeyStore["getByHash"], base?: MemoryKeyStore): KeyStore {
  const s = base ?? new MemoryKeyStore();
  return Object.assign(Object.create(Object.getPrototypeOf(s)), s, { getByHash }) as KeyStore;
}

describe("fail closed (DESIGN §5, §9): a failing store gives 503, never a pass", async () => {
  const w = await makeWorld();
  const request = { authorization: `Bearer ${w.keys.prod}`, method: "GET" };

  it("a store that throws synchronously → 503", async () => {
    const auth = createApiKeyAuth({ store: storeWith(() => { throw new Error("boom"); }) });
    const r = await auth.authenticate(request);
    expect(r).toMatchObject({ ok: false, status: 503, body: UNAVAILABLE, headers: { "Retry-After": "1" }, reason: "unavailable" });
  });

  it("a store that rejects → 503", async () => {
    const auth = createApiKeyAuth({ store: storeWith(() => Promise.reject(new Error("ECONNREFUSED"))) });
    expect(await auth.authenticate(request)).toMatchObject({ ok: false, status: 503, body: UNAVAILABLE });
  });

  it("a store that never answers → 503 after the timeout (default 2 s)", async () => {
    const auth = createApiKeyAuth({ store: storeWith(() => new Promise(() => {})) });
    const started = Date.now();
    const r = await auth.authenticate(request);
    const took = Date.now() - started;
    expect(r).toMatchObject({ ok: false, status: 503, body: UNAVAILABLE });
    expect(took).toBeGreaterThanOrEqual(1_990);
    expect(took).toBeLessThan(4_000);
  });

  it("the timeout is configurable", async () => {
    const auth = createApiKeyAuth({ store: storeWith(() => new Promise(() => {})), timeouts: { storeMs: 50 } });
    const started = Date.now();
    expect(await auth.authenticate(request)).toMatchObject({ status: 503 });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("a store that answers after the timeout does not turn the 503 into a pass later", async () => {
    const stored = await w.store.getByHash((await import("../../src/index.js")).hashApiKey(w.keys.prod));
    const auth = createApiKeyAuth({ store: storeWith(() => new Promise((resolve) => setTimeout(() => resolve(stored), 200))), timeouts: 30 });
    expect(await auth.authenticate(request)).toMatchObject({ status: 503 });
    await new Promise((r) => setTimeout(r, 250));
  });

  it("a store that returns garbage → 503, not a pass", async () => {
    for (const garbage of [{ id: 1 }, "record", 42, { revokedAt: "yesterday" }]) {
      const auth = createApiKeyAuth({ store: storeWith(async () => garbage as never) });
      const r = await auth.authenticate(request);
      expect(r).toMatchObject({ ok: false, status: 503, body: UNAVAILABLE });
    }
  });

  it("a record with our hash but missing or mistyped fields → 503, never a pass (with or without the cache)", async () => {
    const { hashApiKey } = await import("../../src/index.js");
    const stored = (await w.store.getByHash(hashApiKey(w.keys.prod)))!;
    expect(stored).not.toBeNull();
    const faulty: Record<string, unknown>[] = [
      { hash: stored.hash, revokedAt: null, expiresAt: null, permissions: "all" },
      { ...stored, accountId: undefined },
      { ...stored, id: "" },
      { ...stored, permissions: "everything" },
      { ...stored, createdAt: "2026-01-01" },
      { ...stored, expiresAt: { getTime: () => Number.POSITIVE_INFINITY } },
      { ...stored, revokedAt: "never" },
      { ...stored, environment: 7 },
    ];
    for (const record of faulty) {
      for (const cache of [undefined, { ttlMs: 1000, max: 10, maxStalenessMs: 1000 }]) {
        const auth = createApiKeyAuth({ store: storeWith(async () => record as never), ...(cache ? { cache } : {}) });
        expect(await auth.authenticate(request), JSON.stringify(Object.keys(record))).toMatchObject({ ok: false, status: 503, body: UNAVAILABLE });
        await auth.close();
      }
    }
    // The whole record passes, and so does one from a store that leaves out fields the request
    // path never reads.
    const { createdBy: _c, lastUsedAt: _l, rotatedFromId: _r, metadata: _m, ...lean } = stored;
    for (const record of [stored, lean]) {
      const auth = createApiKeyAuth({ store: storeWith(async () => record as never) });
      expect((await auth.authenticate(request)).ok).toBe(true);
      await auth.close();
    }
  });

  it("a record whose getters answer once, then throw or change (an ORM row, a Proxy), is read once: one event, one verdict", async () => {
    const w = await makeWorld();
    const stored = await w.store.getByHash((await import("../../src/index.js")).hashApiKey(w.keys.prod));
    // A new such object per lookup, as an ORM gives: its name throws on a second read, and its
    // permissions say read-only first and all after.
    const fickle = (): object => {
      let nameReads = 0;
      let permissionReads = 0;
      return new Proxy(stored as object, {
        get(target, field, receiver) {
          if (field === "name" && nameReads++ > 0) throw new Error("read twice");
          if (field === "permissions") return permissionReads++ === 0 ? "read-only" : "all";
          return Reflect.get(target, field, receiver);
        },
      });
    };
    const events: string[] = [];
    const used: string[] = [];
    const store = storeWith(async () => fickle() as never, w.store);
    store.recordUsage = async (batch) => void used.push(...batch.map((u) => u.id));
    const auth = createApiKeyAuth({ store, accounts: w.accounts, onEvent: (e) => events.push(`${e.reason}/${e.status}`) });
    const get = await auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" });
    expect(get.ok && get.key.permissions).toBe("read-only"); // judged and answered on the one value read
    const post = await auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "POST" });
    expect(!post.ok && post.reason).toBe("permission");
    expect(events).toEqual(["ok/200", "permission/403"]);
    await auth.close();
    expect(used).toEqual([stored?.id]);
  });

  it("a record whose hash is not exactly ours (a collated or case-insensitive index) is not accepted", async () => {
    const { hashApiKey } = await import("../../src/index.js");
    const stored = await w.store.getByHash(hashApiKey(w.keys.prod));
    expect(stored).not.toBeNull();
    const nearMatch = { ...stored!, hash: stored!.hash.toUpperCase() };
    const auth = createApiKeyAuth({ store: storeWith(async () => nearMatch) });
    expect(await auth.authenticate(request)).toMatchObject({ ok: false, status: 401, reason: "unknown" });
    const exact = createApiKeyAuth({ store: storeWith(async () => stored) });
    expect((await exact.authenticate(request)).ok).toBe(true);
  });

  it("a plan lookup that throws, rejects, hangs or answers a non-string → 503", async () => {
    const plans = [
      () => { throw new Error("db down"); },
      () => Promise.reject(new Error("db down")),
      () => new Promise<string>(() => {}),
      () => 42 as unknown as string,
    ];
    for (const getPlan of plans) {
      const auth = createApiKeyAuth({ store: w.store, accounts: { getPlan }, timeouts: 50 });
      expect(await auth.authenticate(request)).toMatchObject({ ok: false, status: 503, body: UNAVAILABLE });
    }
  });

  it("an onEvent that throws changes nothing", async () => {
    const auth = createApiKeyAuth({ store: w.store, onEvent: () => { throw new Error("logger down"); } });
    expect((await auth.authenticate(request)).ok).toBe(true);
    expect((await auth.authenticate({ ...request, authorization: "Bearer nope" })).ok).toBe(false);
  });

  it("a replaced getByHash on a MemoryKeyStore is honoured (no shortcut around a failing store)", async () => {
    const store = new MemoryKeyStore();
    const auth = createApiKeyAuth({ store });
    store.getByHash = () => Promise.reject(new Error("injected"));
    expect(await auth.authenticate(request)).toMatchObject({ status: 503 });
  });

  it("garbage request objects never throw", async () => {
    const auth = createApiKeyAuth({ store: w.store });
    for (const input of [undefined, null, 42, "Bearer x", {}, { authorization: {} }, { authorization: [1, 2] }]) {
      const r = await auth.authenticate(input as never);
      expect(r.ok).toBe(false);
    }
  });

  it("leaves no unhandled rejection behind", async () => {
    await new Promise((r) => setTimeout(r, 100));
    expect(unhandled).toEqual([]);
  });
});

describe("fail closed on bad times: an Invalid Date or a broken clock never lets a key through", async () => {
  const w = await makeWorld();
  const request = { authorization: `Bearer ${w.keys.prod}`, method: "GET" };
  const recordOf = async () => (await w.store.getById(w.records.prod.id))!;
  const storeReturning = (patch: Record<string, unknown>): KeyStore =>
    storeWith(async () => ({ ...(await recordOf()), ...patch }) as never);

  it("a record whose revokedAt is an Invalid Date counts as revoked", async () => {
    const auth = createApiKeyAuth({ store: storeReturning({ revokedAt: new Date("garbage") }) });
    expect(await auth.authenticate(request)).toMatchObject({ ok: false, status: 401, reason: "revoked" });
  });

  it("a record whose expiresAt is an Invalid Date counts as expired", async () => {
    const auth = createApiKeyAuth({ store: storeReturning({ expiresAt: new Date(Number.NaN) }) });
    expect(await auth.authenticate(request)).toMatchObject({ ok: false, status: 401, reason: "expired" });
  });

  it("a clock that gives no number is refused at setup, naming the option", () => {
    for (const now of [() => undefined, () => Number.NaN, () => "2026-01-01", () => Infinity]) {
      expect(() => createApiKeyAuth({ store: w.store, clock: { now } as never })).toThrow(/Invalid option "clock"/);
    }
    expect(() => createApiKeyAuth({ store: w.store, clock: { now: () => { throw new Error("x"); } } })).toThrow(/"clock"/);
  });

  it("a clock that breaks after setup gives 503, not a pass", async () => {
    let reading: unknown = Date.now();
    const auth = createApiKeyAuth({ store: w.store, clock: { now: () => reading as number } });
    expect((await auth.authenticate(request)).ok).toBe(true);
    reading = undefined;
    expect(await auth.authenticate(request)).toMatchObject({ ok: false, status: 503, reason: "unavailable" });
    reading = Number.NaN;
    expect(await auth.authenticate(request)).toMatchObject({ ok: false, status: 503 });
  });
});

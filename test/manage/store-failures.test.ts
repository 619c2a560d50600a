// DESIGN §10: "management failures reject with an ApiKeyError that carries status, code and the
// envelope body to answer with" — also when the store is down. Never a raw driver error, never the
// driver's message in the answer, never a status-less ApiKeyError.
import { createServer } from "node:net";
import pg from "pg";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import {
  ApiKeyError,
  createKeyManager,
  isApiKeyError,
  MemoryKeyStore,
  type ApiKeyRecord,
  type ApiKeyUsage,
  type KeyManager,
  type KeyStore,
  type RevokeOptions,
} from "../../src/index.js";
import { InterceptedStore, STORE_METHODS, type StoreMethod } from "./helpers/intercepted-store.js";
import { PostgresKeyStore } from "../../src/stores/postgres/index.js";
import { RedisKeyStore } from "../../src/stores/redis/index.js";
import { createFakeClock } from "../../src/testing/index.js";

const MESSAGE = "Key management is temporarily unavailable";
const UNAVAILABLE = { success: false, error: { code: "SERVICE_UNAVAILABLE", message: MESSAGE } };
const admin = { id: "usr_admin", admin: true };

type Method = StoreMethod;

/** A memory store whose chosen methods fail the chosen way. */
class FailingStore extends InterceptedStore {
  failing = new Set<Method>();
  fail: () => Promise<never> = () => Promise.reject(new Error("boom"));

  protected run<T>(method: Method, ok: () => Promise<T>): Promise<T> {
    return this.failing.has(method) ? this.fail() : ok();
  }
  failAll(): void {
    this.failing = new Set(STORE_METHODS);
  }
}

async function rejection(promise: Promise<unknown>): Promise<ApiKeyError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    if (!isApiKeyError(error)) throw new Error(`expected an ApiKeyError, got ${String(error)}`, { cause: error });
    return error;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
}

function expectUnavailable(e: ApiKeyError, cause?: unknown): void {
  expect([e.status, e.code, e.message]).toEqual([503, "SERVICE_UNAVAILABLE", MESSAGE]);
  expect(e.body).toEqual(UNAVAILABLE);
  if (cause !== undefined) expect(e.cause).toBe(cause);
}

/** Every manager method, with input that reaches the store. */
function everyMethod(manager: KeyManager, ids: { active: string; rotated: string }) {
  return {
    create: () => manager.create({ accountId: "acc_1", actor: admin, name: "New" }),
    list: () => manager.list({ accountId: "acc_1" }),
    revoke: () => manager.revoke({ accountId: "acc_1", actor: admin, id: ids.active }),
    rotate: () => manager.rotate({ accountId: "acc_1", actor: admin, id: ids.active }),
    rotationStatus: () => manager.rotationStatus({ accountId: "acc_1", id: ids.rotated }),
    unused: () => manager.unused({ accountId: "acc_1", since: new Date(Date.UTC(2024, 0, 1)) }),
  } satisfies Record<keyof KeyManager, () => Promise<unknown>>;
}

async function world() {
  const store = new FailingStore();
  const clock = createFakeClock(Date.UTC(2025, 0, 1));
  const manager = createKeyManager({ store, accounts: { getPlan: () => "pro" }, clock });
  const active = await manager.create({ accountId: "acc_1", actor: admin, name: "Active" });
  const old = await manager.create({ accountId: "acc_1", actor: admin, name: "Old" });
  const rotated = await manager.rotate({ accountId: "acc_1", actor: admin, id: old.record.id, gracePeriodMs: 3600_000 });
  const keys = [active.key, old.key, rotated.key];
  return { store, manager, calls: everyMethod(manager, { active: active.record.id, rotated: old.record.id }), keys };
}

// Shapes drivers reject with: pg's connection refused, ioredis's retries exhausted, a store's own
// status-less errors, a synchronous throw, and something that is not an Error at all.
const DRIVER_MESSAGE = "connect ECONNREFUSED 127.0.0.1:5432 (password=hunter2)";
const failures: [string, () => unknown][] = [
  ["pg ECONNREFUSED", () => Object.assign(new Error(DRIVER_MESSAGE), { code: "ECONNREFUSED", errno: -111, syscall: "connect" })],
  [
    "ioredis MaxRetriesPerRequestError",
    () => {
      class MaxRetriesPerRequestError extends Error {
        override name = "MaxRetriesPerRequestError";
      }
      return new MaxRetriesPerRequestError("Reached the max retries per request limit (which is 20). Refer to \"maxRetriesPerRequest\" option for details.");
    },
  ],
  ["ApiKeyError STORE_ERROR without status", () => new ApiKeyError("STORE_ERROR", `Could not insert the key: ${DRIVER_MESSAGE}`)],
  ["ApiKeyError TIMEOUT without status", () => new ApiKeyError("TIMEOUT", "Store timed out")],
  ["a string", () => DRIVER_MESSAGE],
  ["undefined", () => undefined],
];

describe("management during a store outage: 503 SERVICE_UNAVAILABLE with the envelope (DESIGN §10)", () => {
  describe.each(failures)("the store rejects with %s", (_, make) => {
    it.each(["create", "list", "revoke", "rotate", "rotationStatus", "unused"] as const)("%s rejects with 503, the fixed message and the cause", async (method) => {
      const w = await world();
      const thrown = make();
      w.store.fail = () => Promise.reject(thrown);
      w.store.failAll();
      const e = await rejection(w.calls[method]());
      expectUnavailable(e);
      if (thrown !== undefined) expect(e.cause).toBe(thrown);
      const answer = JSON.stringify({ message: e.message, body: e.body });
      expect(answer).not.toContain("ECONNREFUSED");
      expect(answer).not.toContain("hunter2");
      expect(answer).not.toContain("retries");
      for (const key of w.keys) expect(answer).not.toContain(key);
    });
  });

  it("a store method that throws synchronously (not a rejected promise) is a 503 too", async () => {
    const w = await world();
    const thrown = new Error("sync boom");
    w.store.fail = () => {
      throw thrown;
    };
    w.store.failAll();
    for (const call of Object.values(w.calls)) expectUnavailable(await rejection(call()), thrown);
  });

  it.each<[string, Method, (w: Awaited<ReturnType<typeof world>>) => Promise<unknown>]>([
    ["create, failing insert", "insert", (w) => w.calls.create()],
    ["revoke, failing revoke", "revoke", (w) => w.calls.revoke()],
    ["rotate, failing insert", "insert", (w) => w.calls.rotate()],
    ["rotate, failing revoke", "revoke", (w) => w.calls.rotate()],
    ["rotationStatus, failing listByAccount", "listByAccount", (w) => w.calls.rotationStatus()],
  ])("%s: 503, and the keys that existed are unchanged", async (_, method, call) => {
    const w = await world();
    const before = await w.store.inner.listByAccount("acc_1");
    w.store.failing = new Set([method]);
    const thrown = new Error("went away");
    w.store.fail = () => Promise.reject(thrown);
    expectUnavailable(await rejection(call(w)), thrown);
    w.store.failing.clear();
    const after = await w.store.inner.listByAccount("acc_1");
    expect(after.slice(0, before.length)).toEqual(before);
    // At most a rotation's new key was added, and its plaintext never left the manager.
    expect(after.length - before.length).toBeLessThanOrEqual(1);
  });

  it("rotating a revoked key while the successor lookup fails is a 503 and creates nothing", async () => {
    const w = await world();
    const k = await w.manager.create({ accountId: "acc_1", actor: admin, name: "K" });
    await w.manager.revoke({ accountId: "acc_1", actor: admin, id: k.record.id });
    const count = w.store.inner.size;
    w.store.failing = new Set(["listByAccount"]);
    expectUnavailable(await rejection(w.manager.rotate({ accountId: "acc_1", actor: admin, id: k.record.id })));
    expect(w.store.inner.size).toBe(count);
  });

  it("a failing plan lookup is 503 SERVICE_UNAVAILABLE too (create and rotate are plan-gated)", async () => {
    const store = new MemoryKeyStore();
    const cause = new Error("accounts db down");
    for (const getPlan of [
      () => {
        throw cause;
      },
      () => Promise.reject(cause),
    ]) {
      const manager = createKeyManager({ store, accounts: { getPlan } });
      expectUnavailable(await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "CI" })), cause);
      expectUnavailable(await rejection(manager.rotate({ accountId: "acc_1", actor: admin, id: "key_x" })), cause);
    }
    expect(store.size).toBe(0);
  });

  it("a plan lookup that rejects with its own answer (an ApiKeyError with a status) keeps it", async () => {
    const own = new ApiKeyError("FORBIDDEN", "Account suspended", { status: 403 });
    const manager = createKeyManager({ store: new MemoryKeyStore(), accounts: { getPlan: () => Promise.reject(own) } });
    expect(await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "CI" }))).toBe(own);
  });
});

describe("a store's ApiKeyErrors come out with a status", () => {
  it("an ApiKeyError that already has a status is passed on as it is", async () => {
    const w = await world();
    const own = new ApiKeyError("FORBIDDEN", "Read-only replica", { status: 403 });
    w.store.fail = () => Promise.reject(own);
    w.store.failAll();
    for (const call of Object.values(w.calls)) expect(await rejection(call())).toBe(own);
  });

  it("DUPLICATE_KEY (an id or hash collision on insert) is 409 CONFLICT with the envelope", async () => {
    const w = await world();
    const duplicate = new ApiKeyError("DUPLICATE_KEY", "A key with this hash is already stored");
    w.store.fail = () => Promise.reject(duplicate);
    w.store.failing = new Set(["insert"]);
    for (const call of [w.calls.create, w.calls.rotate]) {
      const e = await rejection(call());
      expect([e.status, e.code, e.cause]).toEqual([409, "CONFLICT", duplicate]);
      expect(e.body).toEqual({ success: false, error: { code: "CONFLICT", message: "API key conflicts with a stored key; try again" } });
    }
  });

  it("a real duplicate (the same seeded random source twice on one store) is that 409, not a raw DUPLICATE_KEY", async () => {
    const { createSeededRandom } = await import("../../src/testing/index.js");
    const store = new MemoryKeyStore();
    const a = createKeyManager({ store, random: createSeededRandom(7) });
    const b = createKeyManager({ store, random: createSeededRandom(7) });
    await a.create({ accountId: "acc_1", actor: admin, name: "A" });
    const e = await rejection(b.create({ accountId: "acc_1", actor: admin, name: "B" }));
    expect([e.status, e.code]).toEqual([409, "CONFLICT"]);
    expect((e.cause as ApiKeyError).code).toBe("DUPLICATE_KEY");
  });

  it("a status-less NOT_FOUND is 404 'API key not found'", async () => {
    const w = await world();
    w.store.fail = () => Promise.reject(new ApiKeyError("NOT_FOUND", "no row"));
    w.store.failing = new Set(["getById"]);
    const e = await rejection(w.calls.revoke());
    expect([e.status, e.body]).toEqual([404, { success: false, error: { code: "NOT_FOUND", message: "API key not found" } }]);
  });

  it("an answer of the wrong shape (a list that is not an array, a record that is not an object) is a 503", async () => {
    const store = new MemoryKeyStore();
    const manager = createKeyManager({ store });
    const { record } = await manager.create({ accountId: "acc_1", actor: admin, name: "A" });
    store.listByAccount = async () => ({ rows: [] }) as never;
    store.getById = async () => "row" as never;
    expectUnavailable(await rejection(manager.list({ accountId: "acc_1" })));
    expectUnavailable(await rejection(manager.unused({ accountId: "acc_1" })));
    expectUnavailable(await rejection(manager.revoke({ accountId: "acc_1", actor: admin, id: record.id })));
  });
});

describe("the checks before the store still answer first", () => {
  it("validation and administrator refusals never reach a failing store", async () => {
    const w = await world();
    w.store.failAll();
    const forbidden = await rejection(w.manager.create({ accountId: "acc_1", actor: { id: "u", admin: false }, name: "CI" }));
    expect(forbidden.status).toBe(403);
    const invalid = await rejection(w.manager.create({ accountId: "acc_1", actor: admin, name: "" }));
    expect(invalid.status).toBe(400);
    const badSince = await rejection(w.manager.unused({ accountId: "acc_1", since: "not a date" }));
    expect(badSince.status).toBe(400);
  });
});

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("with real drivers whose server is unreachable", () => {
  it("PostgresKeyStore on a pg Pool (connection refused): every method is a 503 with the driver error as cause", async () => {
    const pool = new pg.Pool({ host: "127.0.0.1", port: await closedPort(), user: "postgres", database: "test", connectionTimeoutMillis: 2_000 });
    pool.on("error", () => {});
    try {
      const store = new PostgresKeyStore({ client: pool });
      const manager = createKeyManager({ store, accounts: { getPlan: () => "pro" } });
      const calls = everyMethod(manager, { active: "key_a", rotated: "key_b" });
      for (const [name, call] of Object.entries(calls)) {
        const e = await rejection(call());
        expect([name, e.status, e.code, e.message]).toEqual([name, 503, "SERVICE_UNAVAILABLE", MESSAGE]);
        expect(e.body).toEqual(UNAVAILABLE);
        // The driver's error is kept for logs (directly, or inside the store's STORE_ERROR).
        const cause = e.cause as Error & { code?: string; cause?: Error & { code?: string } };
        expect(cause.code === "ECONNREFUSED" || cause.cause?.code === "ECONNREFUSED", String(cause)).toBe(true);
        expect(JSON.stringify(e.body)).not.toContain("ECONNREFUSED");
      }
    } finally {
      await pool.end();
    }
  });

  it("RedisKeyStore on ioredis (connection refused, no retries): every method is a 503", async () => {
    const client = new Redis({
      host: "127.0.0.1",
      port: await closedPort(),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    client.on("error", () => {});
    try {
      const store = new RedisKeyStore({ client });
      const manager = createKeyManager({ store, accounts: { getPlan: () => "pro" } });
      for (const [name, call] of Object.entries(everyMethod(manager, { active: "key_a", rotated: "key_b" }))) {
        const e = await rejection(call());
        expect([name, e.status, e.code, e.message]).toEqual([name, 503, "SERVICE_UNAVAILABLE", MESSAGE]);
        expect(isApiKeyError(e.cause) && e.cause.status !== undefined).toBe(false);
      }
    } finally {
      client.disconnect();
    }
  });
});

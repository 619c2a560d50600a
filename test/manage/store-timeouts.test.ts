// A store (or plan lookup) that never answers: every manager method fails closed within its time
// limit (`timeouts`, default 2000 ms, as createApiKeyAuth's) with 503 SERVICE_UNAVAILABLE, and the
// limits leave no timer that keeps the process alive.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  createApiKeyAuth,
  createKeyManager,
  isApiKeyError,
  MemoryKeyStore,
  type ApiKeyError,
  type ApiKeyRecord,
  type ApiKeyUsage,
  type KeyManager,
  type KeyManagerOptions,
  type KeyStore,
  type RevokeOptions,
} from "../../src/index.js";
import { InterceptedStore, STORE_METHODS, type StoreMethod } from "./helpers/intercepted-store.js";
import { DeadlineExceeded } from "../../src/auth/deadline.js";

const MESSAGE = "Key management is temporarily unavailable";
const admin = { id: "usr_admin", admin: true };

type Method = StoreMethod;

/** A memory store whose chosen methods never answer (or answer after `delayMs`). */
class HangingStore extends InterceptedStore {
  hanging = new Set<Method>();
  /** `undefined`: never answer; a number: answer (with the real result) after that many ms. */
  delayMs: number | undefined;
  /** Calls that are still waiting for their delay. */
  pending = 0;

  protected run<T>(method: Method, ok: () => Promise<T>): Promise<T> {
    if (!this.hanging.has(method)) return ok();
    if (this.delayMs === undefined) return new Promise<T>(() => {});
    this.pending++;
    return new Promise<void>((r) => setTimeout(r, this.delayMs)).then(() => {
      this.pending--;
      return ok();
    });
  }
  hangAll(): void {
    this.hanging = new Set(STORE_METHODS);
  }
}

/** The rejection of `promise` and how long it took, or a thrown error if it resolved. */
async function timedRejection(promise: Promise<unknown>): Promise<{ error: ApiKeyError; ms: number }> {
  const start = performance.now();
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (error) {
    if (!isApiKeyError(error)) throw error;
    return { error, ms: performance.now() - start };
  }
}

function expectTimedOut(error: ApiKeyError): void {
  expect([error.status, error.code, error.message]).toEqual([503, "SERVICE_UNAVAILABLE", MESSAGE]);
  expect(error.body).toEqual({ success: false, error: { code: "SERVICE_UNAVAILABLE", message: MESSAGE } });
  expect(error.cause).toBeInstanceOf(DeadlineExceeded);
}

async function world(timeouts?: KeyManagerOptions["timeouts"]) {
  const store = new HangingStore();
  const manager = createKeyManager({ store, accounts: { getPlan: () => "pro" }, ...(timeouts === undefined ? {} : { timeouts }) });
  const active = await manager.create({ accountId: "acc_1", actor: admin, name: "Active" });
  const old = await manager.create({ accountId: "acc_1", actor: admin, name: "Old" });
  await manager.rotate({ accountId: "acc_1", actor: admin, id: old.record.id, gracePeriodMs: 3600_000 });
  const calls = {
    create: () => manager.create({ accountId: "acc_1", actor: admin, name: "New" }),
    list: () => manager.list({ accountId: "acc_1" }),
    revoke: () => manager.revoke({ accountId: "acc_1", actor: admin, id: active.record.id }),
    rotate: () => manager.rotate({ accountId: "acc_1", actor: admin, id: active.record.id }),
    rotationStatus: () => manager.rotationStatus({ accountId: "acc_1", id: old.record.id }),
    unused: () => manager.unused({ accountId: "acc_1" }),
  } satisfies Record<keyof KeyManager, () => Promise<unknown>>;
  return { store, manager, calls, active };
}

describe("createKeyManager({ timeouts }): a store that never answers fails closed with 503", () => {
  it.each(["create", "list", "revoke", "rotate", "rotationStatus", "unused"] as const)(
    "%s rejects with 503 SERVICE_UNAVAILABLE within the store limit, its cause the timeout",
    async (method) => {
      const w = await world(100);
      w.store.hangAll();
      const { error, ms } = await timedRejection(w.calls[method]());
      expectTimedOut(error);
      expect(ms).toBeGreaterThanOrEqual(95);
      // One limit per store call, and the calls run one after another: well under a second.
      expect(ms).toBeLessThan(1_000);
    },
  );

  it.each<[string, Method, (w: Awaited<ReturnType<typeof world>>) => Promise<unknown>]>([
    ["create, insert hangs", "insert", (w) => w.calls.create()],
    ["revoke, getById hangs", "getById", (w) => w.calls.revoke()],
    ["revoke, revoke hangs", "revoke", (w) => w.calls.revoke()],
    ["rotate, insert hangs", "insert", (w) => w.calls.rotate()],
    ["rotate, revoke hangs", "revoke", (w) => w.calls.rotate()],
    ["rotationStatus, listByAccount hangs", "listByAccount", (w) => w.calls.rotationStatus()],
  ])("%s: 503 and the existing keys are unchanged", async (_, method, call) => {
    const w = await world({ storeMs: 80 });
    const before = await w.store.inner.listByAccount("acc_1");
    w.store.hanging = new Set([method]);
    expectTimedOut((await timedRejection(call(w))).error);
    const after = await w.store.inner.listByAccount("acc_1");
    expect(after.slice(0, before.length)).toEqual(before);
  });

  it("a plan lookup that never answers is 503 within accountsMs (create and rotate)", async () => {
    const store = new MemoryKeyStore();
    const manager = createKeyManager({ store, accounts: { getPlan: () => new Promise(() => {}) }, timeouts: { accountsMs: 60 } });
    for (const call of [
      () => manager.create({ accountId: "acc_1", actor: admin, name: "CI" }),
      () => manager.rotate({ accountId: "acc_1", actor: admin, id: "key_x" }),
    ]) {
      const { error, ms } = await timedRejection(call());
      expectTimedOut(error);
      expect(ms).toBeLessThan(1_000);
    }
    expect(store.size).toBe(0);
  });

  it("a number sets both limits; storeMs and accountsMs set one each", async () => {
    const slowPlan = { getPlan: () => new Promise<string>((r) => setTimeout(() => r("pro"), 150)) };
    // accountsMs 400 lets the plan answer in 150 ms; the store limit stays short.
    const store = new HangingStore();
    const manager = createKeyManager({ store, accounts: slowPlan, timeouts: { storeMs: 60, accountsMs: 400 } });
    await manager.create({ accountId: "acc_1", actor: admin, name: "CI" });
    store.hanging = new Set(["listByAccount"]);
    expect((await timedRejection(manager.list({ accountId: "acc_1" }))).ms).toBeLessThan(400);
    // A number is both: the 150 ms plan lookup is past a limit of 60.
    const both = createKeyManager({ store: new MemoryKeyStore(), accounts: slowPlan, timeouts: 60 });
    expectTimedOut((await timedRejection(both.create({ accountId: "acc_1", actor: admin, name: "CI" }))).error);
  });

  it("the default limit is 2000 ms, as createApiKeyAuth's", async () => {
    const store = new HangingStore();
    const manager = createKeyManager({ store });
    store.hanging = new Set(["listByAccount"]);
    const { error, ms } = await timedRejection(manager.list({ accountId: "acc_1" }));
    expectTimedOut(error);
    expect(ms).toBeGreaterThanOrEqual(1_990);
    expect(ms).toBeLessThan(2_600);
  });

  it("a slow store that answers within its limit is not cut short", async () => {
    const w = await world(500);
    w.store.hangAll();
    w.store.delayMs = 30;
    await expect(w.calls.rotate()).resolves.toMatchObject({ previous: { status: "revoked" } });
    await expect(w.calls.list()).resolves.toHaveLength(4);
  });

  it("a revoke that waits on purpose for confirmations (the store's confirmTimeoutMs) gets that wait on top", async () => {
    const store = Object.assign(new HangingStore(), { confirmTimeoutMs: 400 });
    const manager = createKeyManager({ store, timeouts: 100 });
    const { record } = await manager.create({ accountId: "acc_1", actor: admin, name: "CI" });
    store.hanging = new Set(["revoke"]);
    store.delayMs = 250; // past storeMs, within storeMs + confirmTimeoutMs
    await expect(manager.revoke({ accountId: "acc_1", actor: admin, id: record.id })).resolves.toMatchObject({ status: "revoked" });
    store.delayMs = undefined;
    const { error, ms } = await timedRejection(manager.revoke({ accountId: "acc_1", actor: admin, id: record.id }));
    expectTimedOut(error);
    expect(ms).toBeGreaterThanOrEqual(490);
    // Other calls keep the plain store limit.
    store.hanging = new Set(["listByAccount"]);
    expect((await timedRejection(manager.list({ accountId: "acc_1" }))).ms).toBeLessThan(400);
  });

  it("an insert that answers after its limit: the call failed, and the key it stored is revoked at once", async () => {
    const store = new HangingStore();
    const manager = createKeyManager({ store, timeouts: 50 });
    store.hanging = new Set(["insert"]);
    store.delayMs = 150;
    expectTimedOut((await timedRejection(manager.create({ accountId: "acc_1", actor: admin, name: "Late" }))).error);
    await new Promise((r) => setTimeout(r, 300));
    const [late] = await store.inner.listByAccount("acc_1");
    // Nobody was given its plaintext: it must not list as a working key.
    expect(late).toMatchObject({ name: "Late", revokedReason: "revoked" });
    expect((await manager.list({ accountId: "acc_1" }))[0]?.status).toBe("revoked");
  });

  it.each([0, 60_000])(
    "a rotation whose schedule of the old key lands after its limit (grace %d ms) can be retried, and the retry's key works",
    async (gracePeriodMs) => {
      const store = new HangingStore();
      const manager = createKeyManager({ store, timeouts: 50 });
      const old = await manager.create({ accountId: "acc_1", actor: admin, name: "CI" });
      store.hanging = new Set(["revoke"]);
      store.delayMs = 150;
      const failed = await timedRejection(manager.rotate({ accountId: "acc_1", actor: admin, id: old.record.id, gracePeriodMs }));
      expectTimedOut(failed.error);
      await new Promise((r) => setTimeout(r, 300)); // both late calls have landed
      store.hanging = new Set();
      const rows = await store.inner.listByAccount("acc_1");
      // The schedule landed; the successor nobody was given is revoked (not a working key).
      expect(rows.find((r) => r.id === old.record.id)).toMatchObject({ revokedReason: "rotated" });
      expect(rows.find((r) => r.rotatedFromId === old.record.id)).toMatchObject({ revokedReason: "revoked" });
      // Retrying is safe: a new working successor, and the old key's revocation is not moved later.
      const oldRevokedAt = rows.find((r) => r.id === old.record.id)?.revokedAt?.getTime();
      const retried = await manager.rotate({ accountId: "acc_1", actor: admin, id: old.record.id, gracePeriodMs });
      expect(retried.graceEndsAt.getTime()).toBe(oldRevokedAt);
      const auth = createApiKeyAuth({ store: store.inner });
      expect((await auth.authenticate({ authorization: `Bearer ${retried.key}`, method: "GET" })).ok).toBe(true);
      expect((await store.inner.getById(old.record.id))?.revokedAt?.getTime()).toBe(oldRevokedAt);
      // and now it is rotated: a third attempt is 409
      const again = await timedRejection(manager.rotate({ accountId: "acc_1", actor: admin, id: old.record.id }));
      expect([again.error.status, again.error.code]).toEqual([409, "CONFLICT"]);
      await auth.close();
    },
  );

  it.each<[string, unknown, string]>([
    ["zero", 0, "timeouts"],
    ["negative", -1, "timeouts"],
    ["a fraction", 1.5, "timeouts"],
    ["a string", "2000", "timeouts"],
    ["past the longest timer", 2 ** 31, "timeouts"],
    ["NaN", Number.NaN, "timeouts"],
    ["storeMs zero", { storeMs: 0 }, "timeouts.storeMs"],
    ["accountsMs a string", { accountsMs: "5" }, "timeouts.accountsMs"],
    ["storeMs a fraction", { storeMs: 1.5 }, "timeouts.storeMs"],
    ["an unknown key", { revokeMs: 5 }, "timeouts.revokeMs"],
  ])("timeouts %s is refused at setup: INVALID_OPTIONS naming the option", (_, timeouts, option) => {
    let thrown: unknown;
    try {
      createKeyManager({ store: new MemoryKeyStore(), timeouts: timeouts as number });
    } catch (error) {
      thrown = error;
    }
    expect(isApiKeyError(thrown) && thrown.code).toBe("INVALID_OPTIONS");
    expect((thrown as ApiKeyError).field).toBe(option);
    expect((thrown as ApiKeyError).message).toContain(`"${option}"`);
  });

  it("a clock that gives no number is refused at setup (it would list revoked keys as active)", () => {
    for (const clock of [{ now: () => undefined as unknown as number }, { now: () => Number.NaN }]) {
      expect(() => createKeyManager({ store: new MemoryKeyStore(), clock })).toThrow(expect.objectContaining({ code: "INVALID_OPTIONS", field: "clock" }));
    }
  });
});

describe("the time limits keep no process alive", () => {
  const script = fileURLToPath(new URL("./fixtures/hanging-store-process.ts", import.meta.url));
  it("a process that used the manager (a long limit, a timed-out call) exits as soon as its work is done", () => {
    const started = Date.now();
    const run = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 20_000 });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim().split("\n")).toEqual(["created", "timed out 503", "done"]);
    expect(run.status).toBe(0);
    // The 60 s limit of the first manager and the ticker of the second must not hold the process.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

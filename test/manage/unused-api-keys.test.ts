import { describe, expect, it } from "vitest";
import { createApiKeyAuth, createKeyManager, createUsageMonitor, isApiKeyError, MemoryKeyStore } from "../../src/index.js";
import { createFakeClock } from "../../src/testing/index.js";

const DAY = 24 * 3600_000;

async function setup(withMonitor = false) {
  const clock = createFakeClock(Date.UTC(2025, 0, 1));
  const store = new MemoryKeyStore();
  const monitor = withMonitor ? createUsageMonitor({ onAlert: () => {}, clock }) : undefined;
  const manager = createKeyManager({ store, clock, monitor });
  const auth = createApiKeyAuth({ store, clock, onEvent: monitor?.record });
  const admin = { id: "usr_admin", admin: true };
  const make = (name: string, extra: { expiresAt?: Date } = {}) => manager.create({ accountId: "acc_1", actor: admin, name, ...extra });
  const use = async (key: string) => {
    const r = await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET", ip: "198.51.100.7" });
    expect(r.ok).toBe(true);
  };
  return { clock, store, manager, auth, admin, make, use };
}

describe("unused: 'identify unused keys' (spec 'Monitoring', DESIGN §7)", () => {
  it("without since: the working keys that were never used, oldest first", async () => {
    const w = await setup();
    const never1 = await w.make("Never 1");
    const used = await w.make("Used");
    const never2 = await w.make("Never 2");
    await w.use(used.key);
    await w.auth.close();
    const rows = await w.manager.unused({ accountId: "acc_1" });
    expect(rows.map((r) => r.id)).toEqual([never1.record.id, never2.record.id]);
    expect(rows[0]).toMatchObject({ name: "Never 1", status: "active", lastUsedAt: null, hint: never1.record.hint });
  });

  it("with since: keys not used at or after the date, never-used ones included", async () => {
    const w = await setup();
    const stale = await w.make("Stale");
    const fresh = await w.make("Fresh");
    await w.make("Never");
    await w.use(stale.key);
    await w.auth.close();
    w.clock.advance(100 * DAY);
    await w.use(fresh.key);
    await w.auth.close();
    w.clock.advance(DAY);
    const since = new Date(w.clock.now() - 90 * DAY);
    const rows = await w.manager.unused({ accountId: "acc_1", since });
    expect(rows.map((r) => r.name)).toEqual(["Stale", "Never"]);
    expect(rows[0]?.lastUsedAt?.getTime()).toBe(Date.UTC(2025, 0, 1));
    // The boundary: a use exactly at `since` counts as used since.
    const atBoundary = await w.manager.unused({ accountId: "acc_1", since: new Date(Date.UTC(2025, 0, 1)) });
    expect(atBoundary.map((r) => r.name)).toEqual(["Never"]);
    // An ISO string is accepted too.
    expect(await w.manager.unused({ accountId: "acc_1", since: since.toISOString() })).toHaveLength(2);
  });

  it("only keys that still work: revoked and expired keys are left out, a key in its rotation grace stays in", async () => {
    const w = await setup();
    const revoked = await w.make("Revoked");
    await w.make("Expired", { expiresAt: new Date(w.clock.now() + DAY) });
    const rotating = await w.make("Rotating");
    await w.manager.revoke({ accountId: "acc_1", actor: w.admin, id: revoked.record.id });
    w.clock.advance(2 * DAY);
    const { record: successor } = await w.manager.rotate({ accountId: "acc_1", actor: w.admin, id: rotating.record.id, gracePeriodMs: DAY });
    const rows = await w.manager.unused({ accountId: "acc_1" });
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      [rotating.record.id, "active"],
      [successor.id, "active"],
    ]);
    expect(rows[0]?.revokedAt?.getTime()).toBe(w.clock.now() + DAY);
  });

  it("only the account's own keys", async () => {
    const w = await setup();
    await w.manager.create({ accountId: "acc_2", actor: w.admin, name: "Theirs" });
    expect(await w.manager.unused({ accountId: "acc_1" })).toEqual([]);
    expect(await w.manager.unused({ accountId: "acc_2" })).toHaveLength(1);
  });

  it("with a monitor, a use not yet written to the store already counts", async () => {
    const w = await setup(true);
    const k = await w.make("K");
    await w.use(k.key); // no close(): the coalesced write is still pending
    expect((await w.store.getById(k.record.id))?.lastUsedAt).toBeNull();
    expect(await w.manager.unused({ accountId: "acc_1" })).toEqual([]);
  });

  it("bad input is 400 VALIDATION_ERROR naming the field; a future since is refused", async () => {
    const w = await setup();
    for (const [input, field] of [
      [{ accountId: "acc_1", since: "last spring" }, "since"],
      [{ accountId: "acc_1", since: 1234 }, "since"],
      [{ accountId: "acc_1", since: new Date(Number.NaN) }, "since"],
      [{ accountId: "acc_1", since: new Date(Date.UTC(2030, 0, 1)) }, "since"],
      [{ accountId: 5 }, "accountId"],
    ] as const) {
      const e = await w.manager.unused(input as never).catch((x: unknown) => x);
      expect(isApiKeyError(e) && [e.status, e.code, e.field]).toEqual([400, "VALIDATION_ERROR", field]);
    }
  });
});

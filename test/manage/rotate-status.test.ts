import { describe, expect, it } from "vitest";
import { createApiKeyAuth, createKeyManager, createUsageMonitor, isApiKeyError, MemoryKeyStore } from "../../src/index.js";
import { createFakeClock } from "../../src/testing/index.js";

const HOUR = 3600_000;

function setup(withMonitor = false) {
  const clock = createFakeClock(Date.UTC(2025, 2, 1));
  const store = new MemoryKeyStore();
  const monitor = withMonitor ? createUsageMonitor({ onAlert: () => {}, clock }) : undefined;
  const manager = createKeyManager({ store, clock, monitor });
  const auth = createApiKeyAuth({ store, clock, onEvent: monitor?.record });
  const admin = { id: "usr_admin", admin: true };
  const use = (key: string) => auth.authenticate({ authorization: `Bearer ${key}`, method: "GET", ip: "198.51.100.7" });
  return { clock, store, manager, auth, admin, use };
}

describe("rotationStatus: 'verify everything works, then revoke' is checkable (spec 'Key rotation')", () => {
  it("says the grace end, and whether the old and new keys were used since the rotation", async () => {
    const w = setup();
    const old = await w.manager.create({ accountId: "acc_1", actor: w.admin, name: "P" });
    await w.use(old.key);
    await w.auth.close(); // flush the coalesced last-used write
    w.clock.advance(HOUR);
    const rotatedAt = w.clock.now();
    const { record } = await w.manager.rotate({ accountId: "acc_1", actor: w.admin, id: old.record.id, gracePeriodMs: 2 * HOUR });

    let s = await w.manager.rotationStatus({ accountId: "acc_1", id: old.record.id });
    expect(s.previous.id).toBe(old.record.id);
    expect(s.next.id).toBe(record.id);
    expect(s.rotatedAt.getTime()).toBe(rotatedAt);
    expect(s.graceEndsAt?.getTime()).toBe(rotatedAt + 2 * HOUR);
    expect(s.inGrace).toBe(true);
    // Used before the rotation only: not "since".
    expect(s.previousLastUsedAt?.getTime()).toBe(rotatedAt - HOUR);
    expect(s.previousUsedSinceRotation).toBe(false);
    expect(s.nextLastUsedAt).toBeNull();

    w.clock.advance(60_000);
    await w.use(old.key); // an application nobody updated yet
    await w.auth.close();
    s = await w.manager.rotationStatus({ accountId: "acc_1", id: old.record.id });
    expect(s.previousUsedSinceRotation).toBe(true);
    expect(s.previousLastUsedAt?.getTime()).toBe(rotatedAt + 60_000);

    w.clock.advance(2 * HOUR);
    s = await w.manager.rotationStatus({ accountId: "acc_1", id: old.record.id });
    expect(s.inGrace).toBe(false);
    expect(s.previous.status).toBe("revoked");
  });

  it("a grace that would outlive the key: rotate and rotationStatus say the key's expiry, when it really stops", async () => {
    const w = setup();
    const start = w.clock.now();
    const old = await w.manager.create({ accountId: "acc_1", actor: w.admin, name: "P", expiresAt: new Date(start + 10_000) });
    const rotated = await w.manager.rotate({ accountId: "acc_1", actor: w.admin, id: old.record.id, gracePeriodMs: HOUR });
    expect(rotated.graceEndsAt.getTime()).toBe(start + 10_000);
    // The scheduled revocation is kept as asked for; the key stops at the earlier of the two.
    expect(rotated.previous.revokedAt?.getTime()).toBe(start + HOUR);
    let s = await w.manager.rotationStatus({ accountId: "acc_1", id: old.record.id });
    expect([s.graceEndsAt?.getTime(), s.inGrace]).toEqual([start + 10_000, true]);
    w.clock.advance(9_999);
    expect((await w.use(old.key)).ok).toBe(true);
    w.clock.advance(1);
    expect((await w.use(old.key)).ok).toBe(false);
    s = await w.manager.rotationStatus({ accountId: "acc_1", id: old.record.id });
    expect([s.graceEndsAt?.getTime(), s.inGrace]).toEqual([start + 10_000, false]);
    // A grace that ends before the expiry is the grace end, as before.
    const later = await w.manager.create({ accountId: "acc_1", actor: w.admin, name: "Q", expiresAt: new Date(w.clock.now() + 2 * HOUR) });
    const r2 = await w.manager.rotate({ accountId: "acc_1", actor: w.admin, id: later.record.id, gracePeriodMs: HOUR });
    expect(r2.graceEndsAt.getTime()).toBe(w.clock.now() + HOUR);
    await w.auth.close();
  });

  it("mid-rotation (new key stored, the old key's end not scheduled yet) the old key counts as in grace", async () => {
    const clock = createFakeClock(Date.UTC(2025, 2, 1));
    let during: Promise<unknown> | undefined;
    let manager: ReturnType<typeof createKeyManager> | undefined;
    let oldId = "";
    class Observed extends MemoryKeyStore {
      override async revoke(id: string, options?: Parameters<MemoryKeyStore["revoke"]>[1]) {
        // The rotation's own schedule of the old key's end: look at the status just before it.
        if (options?.reason === "rotated" && id === oldId) during = manager?.rotationStatus({ accountId: "acc_1", id });
        if (during !== undefined) await during;
        return super.revoke(id, options);
      }
    }
    const store = new Observed();
    manager = createKeyManager({ store, clock });
    const admin = { id: "usr_admin", admin: true };
    const old = await manager.create({ accountId: "acc_1", actor: admin, name: "P" });
    oldId = old.record.id;
    const rotated = await manager.rotate({ accountId: "acc_1", actor: admin, id: old.record.id, gracePeriodMs: HOUR });
    const mid = (await during) as Awaited<ReturnType<typeof manager.rotationStatus>>;
    expect(mid.next.id).toBe(rotated.record.id);
    expect(mid.previous.status).toBe("active");
    expect(mid.graceEndsAt).toBeNull();
    expect(mid.inGrace).toBe(true);
    const after = await manager.rotationStatus({ accountId: "acc_1", id: old.record.id });
    expect([after.inGrace, after.graceEndsAt?.getTime()]).toEqual([true, clock.now() + HOUR]);
  });

  it("reports the new key's use", async () => {
    const w = setup();
    const old = await w.manager.create({ accountId: "acc_1", actor: w.admin, name: "P" });
    const rotated = await w.manager.rotate({ accountId: "acc_1", actor: w.admin, id: old.record.id, gracePeriodMs: HOUR });
    w.clock.advance(5_000);
    expect((await w.use(rotated.key)).ok).toBe(true);
    await w.auth.close();
    const s = await w.manager.rotationStatus({ accountId: "acc_1", id: old.record.id });
    expect(s.nextLastUsedAt?.getTime()).toBe(w.clock.now());
    expect(s.previousUsedSinceRotation).toBe(false);
  });

  it("store last used is coalesced, so it lags until the write; a monitor passed to the manager sees the use at once", async () => {
    const plain = setup(false);
    const watched = setup(true);
    for (const w of [plain, watched]) {
      const old = await w.manager.create({ accountId: "acc_1", actor: w.admin, name: "P" });
      await w.manager.rotate({ accountId: "acc_1", actor: w.admin, id: old.record.id, gracePeriodMs: HOUR });
      w.clock.advance(1_000);
      expect((await w.use(old.key)).ok).toBe(true);
      const s = await w.manager.rotationStatus({ accountId: "acc_1", id: old.record.id });
      // Without a monitor the write is still pending (at most one per key per 60 s).
      expect(s.previousUsedSinceRotation).toBe(w === watched);
      await w.auth.close();
      expect((await w.manager.rotationStatus({ accountId: "acc_1", id: old.record.id })).previousUsedSinceRotation).toBe(true);
    }
  });

  it("a monitor also reports the old key being tried after the grace (refused requests)", async () => {
    const w = setup(true);
    const old = await w.manager.create({ accountId: "acc_1", actor: w.admin, name: "P" });
    await w.manager.rotate({ accountId: "acc_1", actor: w.admin, id: old.record.id });
    w.clock.advance(10_000);
    expect((await w.use(old.key)).ok).toBe(false);
    const s = await w.manager.rotationStatus({ accountId: "acc_1", id: old.record.id });
    expect(s.previousUsedSinceRotation).toBe(true);
    expect(s.previousLastUsedAt?.getTime()).toBe(w.clock.now());
  });

  it("a key that was not rotated, another account's key and a missing key are 404 NOT_FOUND", async () => {
    const w = setup();
    const mine = await w.manager.create({ accountId: "acc_1", actor: w.admin, name: "P" });
    const theirs = await w.manager.create({ accountId: "acc_2", actor: w.admin, name: "T" });
    await w.manager.rotate({ accountId: "acc_2", actor: w.admin, id: theirs.record.id });
    for (const [id, message] of [
      [mine.record.id, "API key has not been rotated"],
      [theirs.record.id, "API key not found"],
      ["key_missing", "API key not found"],
    ] as const) {
      const e = await w.manager.rotationStatus({ accountId: "acc_1", id }).catch((x: unknown) => x);
      expect(isApiKeyError(e) && [e.status, e.code, e.message]).toEqual([404, "NOT_FOUND", message]);
    }
  });

  it("bad input is 400 VALIDATION_ERROR naming the field", async () => {
    const w = setup();
    for (const [input, field] of [
      [{ accountId: "acc_1" }, "id"],
      [{ accountId: "acc_1", id: 7 }, "id"],
      [{ id: "key_1" }, "accountId"],
    ] as const) {
      const e = await w.manager.rotationStatus(input as never).catch((x: unknown) => x);
      expect(isApiKeyError(e) && [e.status, e.code, e.field]).toEqual([400, "VALIDATION_ERROR", field]);
    }
  });
});

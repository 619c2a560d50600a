import { describe, expect, it } from "vitest";
import {
  createApiKeyAuth,
  createKeyManager,
  createUsageMonitor,
  isApiKeyError,
  MAX_GRACE_PERIOD_MS,
  MemoryKeyStore,
  type ApiKeyAuthEvent,
  type ApiKeyRecord,
  type KeyManagerOptions,
} from "../../src/index.js";
import { createFakeClock } from "../../src/testing/index.js";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const PLANS: Record<string, string> = { acc_pro: "pro", acc_other: "pro", acc_starter: "starter" };

function setup(options: Partial<KeyManagerOptions> = {}) {
  const clock = createFakeClock(Date.UTC(2025, 2, 1));
  const store = (options.store as MemoryKeyStore | undefined) ?? new MemoryKeyStore();
  const accounts = { getPlan: (id: string) => PLANS[id] ?? null };
  const manager = createKeyManager({ store, accounts, clock, ...options });
  const events: ApiKeyAuthEvent[] = [];
  const auth = createApiKeyAuth({ store, accounts, clock, onEvent: (e) => events.push(e) });
  const admin = { id: "usr_admin", admin: true };
  const use = (key: string, method = "GET") =>
    auth.authenticate({ authorization: `Bearer ${key}`, method, ip: "198.51.100.7", path: "/v1/contacts" });
  return { clock, store, manager, auth, events, admin, use };
}

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (!isApiKeyError(error)) throw error;
    return { status: error.status, code: error.code, message: error.message, field: error.field, body: error.body };
  }
  throw new Error("expected a rejection");
}

describe("rotate (spec 'Key rotation', DESIGN §7)", () => {
  it("with the default grace of 0 the old key is refused at once and the new key is accepted", async () => {
    const w = setup();
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "Production", environment: "prod" });
    const rotated = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id });

    expect(rotated.key).not.toBe(old.key);
    expect(rotated.graceEndsAt.getTime()).toBe(w.clock.now());
    expect(rotated.previous).toMatchObject({ id: old.record.id, status: "revoked" });
    const before = await w.use(old.key);
    expect(before.ok).toBe(false);
    if (!before.ok) expect(before.reason).toBe("revoked");
    expect(w.events.at(-1)).toMatchObject({ keyId: old.record.id, revokedReason: "rotated" });
    expect((await w.use(rotated.key)).ok).toBe(true);
  });

  it("with a grace period the old key keeps working until it ends, then stops by itself; the new key works throughout", async () => {
    const w = setup();
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "Production", environment: "prod" });
    const rotated = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id, gracePeriodMs: HOUR });

    expect(rotated.graceEndsAt.getTime()).toBe(w.clock.now() + HOUR);
    expect(rotated.previous.status).toBe("active");
    expect(rotated.previous.revokedAt?.getTime()).toBe(w.clock.now() + HOUR);
    expect((await w.use(old.key)).ok).toBe(true);
    expect((await w.use(rotated.key)).ok).toBe(true);

    w.clock.advance(HOUR - 1);
    expect((await w.use(old.key)).ok).toBe(true);

    w.clock.advance(1); // no administrator action in between
    const after = await w.use(old.key);
    expect(after.ok).toBe(false);
    if (!after.ok) expect([after.status, after.reason]).toEqual([401, "revoked"]);
    expect((await w.use(rotated.key)).ok).toBe(true);
    const rows = await w.manager.list({ accountId: "acc_pro" });
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      [old.record.id, "revoked"],
      [rotated.record.id, "active"],
    ]);
  });

  it("the grace ends on time with the verification cache on, too (the cache keeps the record, not the verdict)", async () => {
    const w = setup();
    const cached = createApiKeyAuth({ store: w.store, clock: w.clock, cache: { ttlMs: DAY, max: 100 } });
    const call = (key: string) => cached.authenticate({ authorization: `Bearer ${key}`, method: "GET" });
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "Production" });
    expect((await call(old.key)).ok).toBe(true); // now cached
    const rotated = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id, gracePeriodMs: HOUR });
    expect((await call(old.key)).ok).toBe(true);
    w.clock.advance(HOUR);
    expect((await call(old.key)).ok).toBe(false);
    expect((await call(rotated.key)).ok).toBe(true);
    await cached.close();
  });

  it("the new key has the same name, environment, permissions and metadata, and points back to the old one", async () => {
    const w = setup();
    const old = await w.manager.create({
      accountId: "acc_pro",
      actor: w.admin,
      name: "Dev laptop",
      environment: "dev",
      permissions: "read-only",
      metadata: { team: "web" },
    });
    const other = { id: "usr_other_admin", admin: true };
    const { key, record } = await w.manager.rotate({ accountId: "acc_pro", actor: other, id: old.record.id });

    expect(key).toMatch(/^flz_sk_dev_[A-Za-z0-9]{32}$/);
    expect(record).toMatchObject({
      accountId: "acc_pro",
      name: "Dev laptop",
      environment: "dev",
      permissions: "read-only",
      metadata: { team: "web" },
      rotatedFromId: old.record.id,
      createdBy: "usr_other_admin",
      revokedAt: null,
      lastUsedAt: null,
    });
    expect(record.id).not.toBe(old.record.id);
    expect(record.hash).not.toBe(old.record.hash);
    // Read-only stays read-only.
    expect((await w.use(key, "GET")).ok).toBe(true);
    const post = await w.use(key, "POST");
    expect(post.ok ? 200 : post.status).toBe(403);
  });

  it("a key whose environment the manager's format no longer has: 400 naming environment, nothing changed (not a 503)", async () => {
    const { store, manager, admin } = setup();
    const old = await manager.create({ accountId: "acc_pro", actor: admin, name: "Prod", environment: "prod" });
    const { defineKeyFormat } = await import("../../src/index.js");
    const other = setup({ store, format: defineKeyFormat({ prefix: "acme", environments: ["live", "test"] }) });
    const e = await rejection(other.manager.rotate({ accountId: "acc_pro", actor: admin, id: old.record.id }));
    expect([e.status, e.code, e.field]).toEqual([400, "VALIDATION_ERROR", "environment"]);
    expect(e.message).toBe("Invalid environment: the key's environment is not one of this manager's format (live, test); create a new key instead");
    expect((await store.listByAccount("acc_pro")).map((r) => [r.id, r.revokedAt])).toEqual([[old.record.id, null]]);
  });

  it("the rotation result carries the plaintext once and the store never holds it", async () => {
    const w = setup();
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "CI" });
    const { key } = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    const stored = JSON.stringify(await w.store.listByAccount("acc_pro"));
    expect(stored).not.toContain(key);
    expect(stored).not.toContain(old.key);
  });

  describe("expiry policy", () => {
    it("by default the new key gets the old key's lifetime again, counted from the rotation", async () => {
      const w = setup();
      const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "Q1", expiresAt: new Date(w.clock.now() + 90 * DAY) });
      w.clock.advance(80 * DAY);
      const { record } = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
      expect(record.expiresAt?.getTime()).toBe(w.clock.now() + 90 * DAY);
    });

    it("a key that never expired is replaced by one that never expires", async () => {
      const w = setup();
      const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "Forever" });
      const { record } = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
      expect(record.expiresAt).toBeNull();
    });

    it("expiresAt overrides it: null for never, a future date as given, a past date is a 400 naming expiresAt", async () => {
      const w = setup();
      const a = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "A", expiresAt: new Date(w.clock.now() + DAY) });
      const ra = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: a.record.id, expiresAt: null });
      expect(ra.record.expiresAt).toBeNull();

      const b = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "B" });
      const when = new Date(w.clock.now() + 7 * DAY);
      const rb = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: b.record.id, expiresAt: when.toISOString() });
      expect(rb.record.expiresAt?.getTime()).toBe(when.getTime());

      const c = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "C" });
      const past = await rejection(w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: c.record.id, expiresAt: new Date(w.clock.now() - 1) }));
      expect(past).toMatchObject({ status: 400, code: "VALIDATION_ERROR", field: "expiresAt" });
      const bad = await rejection(w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: c.record.id, expiresAt: "soon" }));
      expect(bad).toMatchObject({ status: 400, code: "VALIDATION_ERROR", field: "expiresAt" });
      // Refused before anything was written: C is untouched and has no successor.
      expect((await w.manager.list({ accountId: "acc_pro" })).filter((r) => r.rotatedFromId === c.record.id)).toEqual([]);
    });
  });

  describe("same error model as create and revoke", () => {
    it("checks the administrator first: a non-administrator gets 403 whatever else is wrong", async () => {
      const w = setup();
      const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
      const member = { id: "usr_2", admin: false };
      for (const patch of [
        { accountId: "" },
        { accountId: 42 },
        { accountId: "acc_starter" }, // plan without API access
        { accountId: "acc_nobody" }, // unknown account
        { id: "" },
        { id: "key_missing" },
        { gracePeriodMs: -1 },
        { expiresAt: "soon" },
      ]) {
        const e = await rejection(w.manager.rotate({ accountId: "acc_pro", actor: member, id: old.record.id, ...patch } as never));
        expect(e, JSON.stringify(patch)).toMatchObject({ status: 403, code: "FORBIDDEN", message: "Administrator rights required" });
      }
      expect(await w.manager.list({ accountId: "acc_pro" })).toHaveLength(1);
    });

    it("needs an administrator: 403 FORBIDDEN 'Administrator rights required'", async () => {
      const w = setup();
      const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
      for (const actor of [{ id: "usr_2", admin: false }, undefined, { admin: true }]) {
        const e = await rejection(w.manager.rotate({ accountId: "acc_pro", actor: actor as never, id: old.record.id }));
        expect(e).toMatchObject({ status: 403, code: "FORBIDDEN", message: "Administrator rights required" });
        expect(e.body).toEqual({ success: false, error: { code: "FORBIDDEN", message: "Administrator rights required" } });
      }
      expect((await w.use(old.key)).ok).toBe(true);
    });

    it("needs a plan with API access: 403 'API access requires Pro plan'", async () => {
      const w = setup();
      // A starter account's key can only exist if it was created before a downgrade: insert it directly.
      const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
      await w.store.insert({ ...(await w.store.getById(old.record.id))!, id: "key_starter", accountId: "acc_starter", hash: "sha256:00" });
      const e = await rejection(w.manager.rotate({ accountId: "acc_starter", actor: w.admin, id: "key_starter" }));
      expect(e).toMatchObject({ status: 403, code: "FORBIDDEN", message: "API access requires Pro plan" });
    });

    it("another account's key and a missing key are both 404 NOT_FOUND, and nothing changes", async () => {
      const w = setup();
      const theirs = await w.manager.create({ accountId: "acc_other", actor: w.admin, name: "Theirs" });
      for (const id of [theirs.record.id, "key_missing"]) {
        const e = await rejection(w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id }));
        expect(e).toMatchObject({ status: 404, code: "NOT_FOUND", message: "API key not found" });
      }
      expect((await w.use(theirs.key)).ok).toBe(true);
      expect(await w.manager.list({ accountId: "acc_pro" })).toEqual([]);
    });

    it("a key already rotated (still in its grace) cannot be rotated again: 409 CONFLICT", async () => {
      const w = setup();
      const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
      await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id, gracePeriodMs: HOUR });
      const e = await rejection(w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id }));
      expect(e).toMatchObject({ status: 409, code: "CONFLICT" });
      expect(e.message).toMatch(/already scheduled for revocation/);
      expect(await w.manager.list({ accountId: "acc_pro" })).toHaveLength(2);
    });

    it("two rotations of one key at once: one succeeds, the other is 409 (no second successor)", async () => {
      const w = setup();
      const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
      const results = await Promise.allSettled([
        w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id, gracePeriodMs: HOUR }),
        w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id, gracePeriodMs: HOUR }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      const failed = results.find((r) => r.status === "rejected");
      expect(isApiKeyError(failed?.reason) && failed.reason.status).toBe(409);
      expect((await w.manager.list({ accountId: "acc_pro" })).filter((r) => r.rotatedFromId === old.record.id)).toHaveLength(1);
    });

    it.each([
      [{ gracePeriodMs: -1 }, "gracePeriodMs"],
      [{ gracePeriodMs: 1.5 }, "gracePeriodMs"],
      [{ gracePeriodMs: "3600000" }, "gracePeriodMs"],
      [{ gracePeriodMs: MAX_GRACE_PERIOD_MS + 1 }, "gracePeriodMs"],
      [{ gracePeriodMs: Number.NaN }, "gracePeriodMs"],
      [{ id: undefined }, "id"],
      [{ id: "" }, "id"],
      [{ id: 42 }, "id"],
      [{ accountId: "" }, "accountId"],
    ])("bad input %j is 400 VALIDATION_ERROR naming %s", async (patch, field) => {
      const w = setup();
      const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
      const input = { accountId: "acc_pro", actor: w.admin, id: old.record.id, ...patch } as never;
      const e = await rejection(w.manager.rotate(input));
      expect(e).toMatchObject({ status: 400, code: "VALIDATION_ERROR", field });
      expect(e.message).toContain(field);
      expect((await w.use(old.key)).ok).toBe(true);
    });

    it("the longest grace (30 days) is accepted", async () => {
      const w = setup();
      const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
      const r = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id, gracePeriodMs: MAX_GRACE_PERIOD_MS });
      expect(r.graceEndsAt.getTime()).toBe(w.clock.now() + 30 * DAY);
    });
  });

  it("an administrator's revoke during the grace cuts it short (the earliest revocation wins)", async () => {
    const w = setup();
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
    await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id, gracePeriodMs: DAY });
    expect((await w.use(old.key)).ok).toBe(true);
    w.clock.advance(HOUR);
    await w.manager.revoke({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    const r = await w.use(old.key);
    expect(r.ok).toBe(false);
    expect(w.events.at(-1)).toMatchObject({ reason: "revoked", revokedReason: "revoked" });
  });

  it("if the old key cannot be revoked, the rotation fails with 503 and the new key (never shown) does not work", async () => {
    class FlakyStore extends MemoryKeyStore {
      failFor = "";
      override async revoke(id: string, options?: { at?: Date; reason?: string }): Promise<ApiKeyRecord | null> {
        if (id === this.failFor) throw new Error("database went away");
        return super.revoke(id, options);
      }
    }
    const store = new FlakyStore();
    const w = setup({ store });
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
    store.failFor = old.record.id;
    const e = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id }).catch((x: unknown) => x);
    expect(isApiKeyError(e) && [e.status, e.code, e.message, (e.cause as Error).message]).toEqual([
      503,
      "SERVICE_UNAVAILABLE",
      "Key management is temporarily unavailable",
      "database went away",
    ]);
    const rows = await w.manager.list({ accountId: "acc_pro" });
    expect(rows.map((r) => [r.id === old.record.id ? "old" : "new", r.status])).toEqual([
      ["old", "active"],
      ["new", "revoked"],
    ]);
    expect((await w.use(old.key)).ok).toBe(true);
  });

  it("rotating a key in use, watched by a monitor, raises no alert during the grace", async () => {
    const alerts: unknown[] = [];
    const clock = createFakeClock(Date.UTC(2025, 2, 1));
    const monitor = createUsageMonitor({ onAlert: (a) => alerts.push(a), clock });
    const store = new MemoryKeyStore();
    const manager = createKeyManager({ store, clock, monitor });
    const auth = createApiKeyAuth({ store, clock, onEvent: monitor.record });
    const admin = { id: "usr_admin", admin: true };
    const old = await manager.create({ accountId: "acc_pro", actor: admin, name: "P" });
    const { key } = await manager.rotate({ accountId: "acc_pro", actor: admin, id: old.record.id, gracePeriodMs: HOUR });
    for (let i = 0; i < 10; i++) {
      await auth.authenticate({ authorization: `Bearer ${old.key}`, method: "GET", ip: "198.51.100.7" });
      await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET", ip: "198.51.100.7" });
      clock.advance(60_000);
    }
    expect(alerts).toEqual([]);
  });
});

describe("rotate a key that already stopped (DESIGN §10: revoke, then rotate)", () => {
  it("a key revoked by revoke is replaced: same settings, the old key stays revoked at its first time, no grace", async () => {
    const w = setup();
    const old = await w.manager.create({
      accountId: "acc_pro",
      actor: w.admin,
      name: "Dev laptop",
      environment: "dev",
      permissions: "read-only",
      metadata: { team: "web" },
      expiresAt: new Date(w.clock.now() + 90 * DAY),
    });
    const revoked = await w.manager.revoke({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    const revokedAt = revoked.revokedAt!.getTime();
    w.clock.advance(10 * DAY);

    // A grace asked for cannot bring a revoked key back: it is ignored.
    const rotated = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id, gracePeriodMs: HOUR });
    expect(rotated.key).toMatch(/^flz_sk_dev_[A-Za-z0-9]{32}$/);
    expect(rotated.record).toMatchObject({
      accountId: "acc_pro",
      name: "Dev laptop",
      environment: "dev",
      permissions: "read-only",
      metadata: { team: "web" },
      rotatedFromId: old.record.id,
      createdBy: "usr_admin",
      revokedAt: null,
      // The lifetime again, counted from the rotation.
      expiresAt: new Date(w.clock.now() + 90 * DAY),
    });
    expect(rotated.graceEndsAt.getTime()).toBe(revokedAt);
    expect(rotated.previous).toMatchObject({ id: old.record.id, status: "revoked", revokedAt: new Date(revokedAt) });

    // The old record is exactly as the revoke left it: time and reason.
    const stored = await w.store.getById(old.record.id);
    expect([stored?.revokedAt?.getTime(), stored?.revokedReason]).toEqual([revokedAt, "revoked"]);
    const before = await w.use(old.key);
    expect(before.ok ? "accepted" : before.reason).toBe("revoked");
    expect((await w.use(rotated.key)).ok).toBe(true);

    const status = await w.manager.rotationStatus({ accountId: "acc_pro", id: old.record.id });
    expect(status).toMatchObject({ inGrace: false, graceEndsAt: new Date(revokedAt), next: { id: rotated.record.id } });
  });

  it("an expired key is replaced: the old record is untouched (not revoked), graceEndsAt is its expiry", async () => {
    const w = setup();
    const expiry = new Date(w.clock.now() + DAY);
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "Q1", expiresAt: expiry });
    w.clock.advance(3 * DAY);
    const rotated = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    expect(rotated.graceEndsAt.getTime()).toBe(expiry.getTime());
    expect(rotated.previous).toMatchObject({ id: old.record.id, status: "expired", revokedAt: null });
    expect(rotated.record.expiresAt?.getTime()).toBe(w.clock.now() + DAY);
    expect((await w.store.getById(old.record.id))?.revokedAt).toBeNull();
    expect((await w.use(rotated.key)).ok).toBe(true);
    const status = await w.manager.rotationStatus({ accountId: "acc_pro", id: old.record.id });
    expect(status).toMatchObject({ inGrace: false, graceEndsAt: expiry });
  });

  it("revoked and expired: graceEndsAt is the earlier of the two", async () => {
    const w = setup();
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "Q1", expiresAt: new Date(w.clock.now() + DAY) });
    w.clock.advance(HOUR);
    const revoked = await w.manager.revoke({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    w.clock.advance(2 * DAY);
    const rotated = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    expect(rotated.graceEndsAt).toEqual(revoked.revokedAt);
  });

  it("a stopped key is replaced once: rotating it again is 409 CONFLICT (it has a successor)", async () => {
    const w = setup();
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
    await w.manager.revoke({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    const first = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    const e = await rejection(w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id }));
    expect(e).toMatchObject({ status: 409, code: "CONFLICT", message: "API key was already rotated; rotate its replacement instead" });
    expect((await w.manager.list({ accountId: "acc_pro" })).filter((r) => r.rotatedFromId === old.record.id).map((r) => r.id)).toEqual([first.record.id]);
    // Its replacement can be rotated in turn.
    const second = await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: first.record.id });
    expect(second.record.rotatedFromId).toBe(first.record.id);
  });

  it("a key rotated out is 409 CONFLICT: after its grace, and when an administrator cut the grace short", async () => {
    const w = setup();
    const a = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "A" });
    await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: a.record.id }); // grace 0: revoked, reason "rotated"
    const b = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "B" });
    await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: b.record.id, gracePeriodMs: DAY });
    w.clock.advance(HOUR);
    await w.manager.revoke({ accountId: "acc_pro", actor: w.admin, id: b.record.id }); // reason becomes "revoked"
    w.clock.advance(HOUR);
    for (const id of [a.record.id, b.record.id]) {
      const e = await rejection(w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id }));
      expect(e).toMatchObject({ status: 409, code: "CONFLICT", message: "API key was already rotated; rotate its replacement instead" });
    }
    expect(await w.manager.list({ accountId: "acc_pro" })).toHaveLength(4);
  });

  it("several rotations of one revoked key at once: exactly one wins, the others are 409", async () => {
    const w = setup();
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
    await w.manager.revoke({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(isApiKeyError(r.reason) && r.reason.status).toBe(409);
    expect((await w.manager.list({ accountId: "acc_pro" })).filter((r) => r.rotatedFromId === old.record.id)).toHaveLength(1);
  });

  it("a revoke after the rotation keeps the first revocation time (irreversible, never moved later)", async () => {
    const w = setup();
    const old = await w.manager.create({ accountId: "acc_pro", actor: w.admin, name: "P" });
    const first = await w.manager.revoke({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    w.clock.advance(HOUR);
    await w.manager.rotate({ accountId: "acc_pro", actor: w.admin, id: old.record.id, gracePeriodMs: DAY });
    w.clock.advance(HOUR);
    const again = await w.manager.revoke({ accountId: "acc_pro", actor: w.admin, id: old.record.id });
    expect(again.revokedAt).toEqual(first.revokedAt);
  });
});

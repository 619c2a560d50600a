import { describe, expect, it } from "vitest";
import {
  createApiKeyAuth,
  createKeyManager,
  createUsageMonitor,
  isApiKeyError,
  MemoryKeyStore,
  type ApiKeyAuthEvent,
  type UsageAlert,
  type UsageMonitorOptions,
} from "../../src/index.js";
import { createFakeClock, type FakeClock } from "../../src/testing/index.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function watch(options: Partial<UsageMonitorOptions> = {}) {
  const clock = createFakeClock(Date.UTC(2025, 5, 1));
  const alerts: UsageAlert[] = [];
  const monitor = createUsageMonitor({ onAlert: (a) => alerts.push(a), clock, ...options });
  return { clock, alerts, monitor };
}

/** A hand-made event, shaped like the authenticator's, at the clock's time. */
function event(clock: FakeClock, patch: Partial<ApiKeyAuthEvent>): ApiKeyAuthEvent {
  const ok = patch.reason === undefined || patch.reason === "ok";
  return {
    ok,
    reason: "ok",
    status: ok ? 200 : 401,
    keyId: "key_a",
    hint: "flz_sk_prod_…Ab12",
    accountId: "acc_1",
    revokedReason: null,
    ip: "198.51.100.7",
    userAgent: "app/1.0",
    method: "GET",
    path: "/v1/contacts",
    time: new Date(clock.now()),
    ...patch,
  };
}

/** Normal traffic: a few keys from their usual servers, every minute for `minutes`, plus some typos. */
function normalTraffic(w: ReturnType<typeof watch>, minutes: number) {
  for (let m = 0; m < minutes; m++) {
    for (const [keyId, ips] of [
      ["key_a", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]],
      ["key_b", ["10.0.1.1"]],
    ] as const) {
      for (const ip of ips) w.monitor.record(event(w.clock, { keyId, ip }));
    }
    // Now and then a client gets it wrong: a missing header, a typo'd key.
    if (m % 10 === 0) w.monitor.record(event(w.clock, { reason: "missing", keyId: null, hint: null, ip: "10.0.2.1" }));
    if (m % 15 === 0) w.monitor.record(event(w.clock, { reason: "checksum", keyId: null, hint: null, ip: "10.0.2.2" }));
    w.clock.advance(MIN);
  }
}

describe("createUsageMonitor (DESIGN §8, spec 'Monitoring')", () => {
  it("normal traffic for two days raises no alert", () => {
    const w = watch();
    normalTraffic(w, 2 * 24 * 60);
    expect(w.alerts).toEqual([]);
    expect(w.monitor.stats()).toMatchObject({ alerts: 0, suppressed: 0 });
  });

  describe("revoked_key_used", () => {
    it("is raised when a revoked key is presented, naming the key by id and hint, when and where", () => {
      const w = watch();
      w.monitor.record(event(w.clock, { reason: "revoked", revokedReason: "revoked", ip: "203.0.113.50", userAgent: "curl/8" }));
      expect(w.alerts).toHaveLength(1);
      expect(w.alerts[0]).toMatchObject({
        type: "revoked_key_used",
        keyId: "key_a",
        hint: "flz_sk_prod_…Ab12",
        accountId: "acc_1",
        ip: "203.0.113.50",
        userAgent: "curl/8",
        time: new Date(w.clock.now()),
        count: 1,
        addresses: ["203.0.113.50"],
        suppressed: 0,
      });
      expect(w.alerts[0]?.message).toBe("Revoked API key flz_sk_prod_…Ab12 (key_a) was presented from 203.0.113.50");
    });

    it("is held back during the cool-down and then raised again with the count held back", () => {
      const w = watch({ cooldownMs: 15 * MIN });
      for (let i = 0; i < 1000; i++) w.monitor.record(event(w.clock, { reason: "revoked", revokedReason: "revoked", ip: `203.0.113.${i % 250}` }));
      expect(w.alerts).toHaveLength(1);
      w.clock.advance(15 * MIN);
      w.monitor.record(event(w.clock, { reason: "revoked", revokedReason: "revoked" }));
      expect(w.alerts).toHaveLength(2);
      expect(w.alerts[1]?.suppressed).toBe(999);
      expect(w.monitor.stats()).toMatchObject({ alerts: 2, suppressed: 999 });
    });

    it("a cool-down is per key: another revoked key still alerts", () => {
      const w = watch();
      w.monitor.record(event(w.clock, { reason: "revoked", revokedReason: "revoked", keyId: "key_a" }));
      w.monitor.record(event(w.clock, { reason: "revoked", revokedReason: "revoked", keyId: "key_b" }));
      expect(w.alerts.map((a) => a.keyId)).toEqual(["key_a", "key_b"]);
    });

    it("can be turned off", () => {
      const w = watch({ revokedKeyUsed: false });
      w.monitor.record(event(w.clock, { reason: "revoked", revokedReason: "revoked" }));
      expect(w.alerts).toEqual([]);
    });
  });

  describe("rotated_key_used", () => {
    it("is raised for a rotated-out key presented after its grace, not revoked_key_used", () => {
      const w = watch();
      w.monitor.record(event(w.clock, { reason: "revoked", revokedReason: "rotated" }));
      expect(w.alerts.map((a) => a.type)).toEqual(["rotated_key_used"]);
      expect(w.alerts[0]?.message).toMatch(/flz_sk_prod_…Ab12 \(key_a\) was presented from 198\.51\.100\.7 after it was rotated out/);
    });

    it("end to end: no alert while the old key is in its grace, one alert after it, from a real authenticator", async () => {
      const clock = createFakeClock(Date.UTC(2025, 5, 1));
      const alerts: UsageAlert[] = [];
      const monitor = createUsageMonitor({ onAlert: (a) => alerts.push(a), clock });
      const store = new MemoryKeyStore();
      const manager = createKeyManager({ store, clock, monitor });
      const auth = createApiKeyAuth({ store, clock, onEvent: monitor.record });
      const admin = { id: "usr_admin", admin: true };
      const old = await manager.create({ accountId: "acc_1", actor: admin, name: "Production", environment: "prod" });
      const rotated = await manager.rotate({ accountId: "acc_1", actor: admin, id: old.record.id, gracePeriodMs: HOUR });
      const call = (key: string) => auth.authenticate({ authorization: `Bearer ${key}`, method: "GET", ip: "192.0.2.44", path: "/v1/contacts" });

      expect((await call(old.key)).ok).toBe(true);
      clock.advance(HOUR);
      expect((await call(rotated.key)).ok).toBe(true);
      expect(alerts).toEqual([]);
      expect((await call(old.key)).ok).toBe(false);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ type: "rotated_key_used", keyId: old.record.id, hint: old.record.hint, ip: "192.0.2.44", path: "/v1/contacts" });
      // An alert never carries a key.
      const text = JSON.stringify(alerts);
      expect(text).not.toContain(old.key);
      expect(text).not.toContain(old.key.slice(-20));
      await auth.close();
    });
  });

  describe("invalid_key_burst", () => {
    const invalid = (w: ReturnType<typeof watch>, ip: string, reason: ApiKeyAuthEvent["reason"] = "unknown") =>
      w.monitor.record(event(w.clock, { reason, keyId: null, hint: "flz_sk_…zzzz", accountId: null, ip }));

    it("writes only an IP literal into the message: an address the client wrote (X-Forwarded-For) stays in the ip field", () => {
      const forged = "<!channel> *URGENT* rotate all keys at <https://evil.example/login|fluenzr.com>";
      const w = watch();
      for (let i = 0; i < 20; i++) invalid(w, forged);
      expect(w.alerts).toHaveLength(1);
      expect(w.alerts[0]).toMatchObject({ type: "invalid_key_burst", ip: forged, addresses: [forged] });
      expect(w.alerts[0]?.message).toBe("20 invalid API keys from an address that is not an IP literal (see the alert's ip) within 1 min");
      const v6 = watch();
      for (let i = 0; i < 20; i++) invalid(v6, "2001:db8::1%eth0");
      expect(v6.alerts[0]?.message).toBe("20 invalid API keys from 2001:db8::1%eth0 within 1 min");
      // Text that only looks like one (hex letters and dots, a domain as the zone, dots alone) is not.
      for (const lookalike of ["bad.cafe", "fe80::1%phish.example", "fe80::1%phish-login.com", "...", "999.1.1.1", "1:2", "cafe.face.bead.deed"]) {
        const l = watch();
        for (let i = 0; i < 20; i++) invalid(l, lookalike);
        expect(l.alerts[0]?.message, lookalike).toBe("20 invalid API keys from an address that is not an IP literal (see the alert's ip) within 1 min");
      }
      for (const literal of ["::", "::1", "[2001:db8::1]", "::ffff:192.0.2.1", "fe80::1%12", "10.0.0.255"]) {
        const l = watch();
        for (let i = 0; i < 20; i++) invalid(l, literal);
        expect(l.alerts[0]?.message, literal).toBe(`20 invalid API keys from ${literal} within 1 min`);
      }
    });

    it("is raised when one address presents the threshold of invalid keys within the window (default 20 per minute)", () => {
      const w = watch();
      for (let i = 0; i < 19; i++) invalid(w, "203.0.113.9", i % 2 === 0 ? "unknown" : "checksum");
      expect(w.alerts).toEqual([]);
      invalid(w, "203.0.113.9", "format");
      expect(w.alerts).toHaveLength(1);
      expect(w.alerts[0]).toMatchObject({ type: "invalid_key_burst", ip: "203.0.113.9", keyId: null, count: 20, windowMs: MIN });
      expect(w.alerts[0]?.message).toBe("20 invalid API keys from 203.0.113.9 within 1 min");
      // A million more from the same address: still one alert per cool-down.
      for (let i = 0; i < 10_000; i++) invalid(w, "203.0.113.9");
      expect(w.alerts).toHaveLength(1);
    });

    it("is not raised by the same number spread over windows, over addresses, or by requests without a key", () => {
      const w = watch();
      for (let window = 0; window < 5; window++) {
        for (let i = 0; i < 19; i++) invalid(w, "203.0.113.9");
        w.clock.advance(MIN);
      }
      for (let i = 0; i < 500; i++) invalid(w, `198.18.${i >> 8}.${i & 255}`);
      for (let i = 0; i < 500; i++) {
        w.monitor.record(event(w.clock, { reason: "missing", keyId: null, hint: null, ip: "203.0.113.10" }));
        w.monitor.record(event(w.clock, { reason: "malformed", keyId: null, hint: null, ip: "203.0.113.10" }));
        w.monitor.record(event(w.clock, { reason: "permission", status: 403, ip: "203.0.113.10" }));
      }
      expect(w.alerts).toEqual([]);
    });

    it("takes its threshold and window from options", () => {
      const w = watch({ invalidKeyBurst: { threshold: 3, windowMs: 10_000 } });
      for (let i = 0; i < 3; i++) invalid(w, "203.0.113.9");
      expect(w.alerts.map((a) => [a.type, a.count, a.windowMs])).toEqual([["invalid_key_burst", 3, 10_000]]);
      const off = watch({ invalidKeyBurst: false });
      for (let i = 0; i < 100; i++) invalid(off, "203.0.113.9");
      expect(off.alerts).toEqual([]);
    });
  });

  describe("new_addresses_spike", () => {
    it("is raised when a known key is suddenly accepted from many new addresses (default 10 in an hour)", () => {
      const w = watch();
      normalTraffic(w, 90); // key_a learns its three servers
      for (let i = 1; i <= 10; i++) {
        w.monitor.record(event(w.clock, { ip: `203.0.113.${i}` }));
        w.clock.advance(MIN);
      }
      expect(w.alerts).toHaveLength(1);
      expect(w.alerts[0]).toMatchObject({ type: "new_addresses_spike", keyId: "key_a", count: 10, windowMs: HOUR, ip: "203.0.113.10" });
      expect(w.alerts[0]?.addresses).toEqual(["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5"]);
      expect(w.alerts[0]?.message).toMatch(/flz_sk_prod_…Ab12 \(key_a\) was used from 10 new addresses within 60 min/);
    });

    it("is not raised by a key's first hour (learning), by known addresses, or by a few new ones a day", () => {
      const w = watch();
      for (let i = 0; i < 40; i++) w.monitor.record(event(w.clock, { keyId: "key_new", ip: `10.9.0.${i}` })); // a fleet on first deploy
      w.clock.advance(2 * HOUR);
      for (let i = 0; i < 40; i++) w.monitor.record(event(w.clock, { keyId: "key_new", ip: `10.9.0.${i}` })); // same fleet
      for (let day = 0; day < 10; day++) {
        for (let i = 0; i < 3; i++) w.monitor.record(event(w.clock, { keyId: "key_new", ip: `10.8.${day}.${i}` }));
        w.clock.advance(DAY);
      }
      expect(w.alerts).toEqual([]);
    });

    it("counts only accepted requests", () => {
      const w = watch();
      w.monitor.record(event(w.clock, {}));
      w.clock.advance(2 * HOUR);
      for (let i = 0; i < 50; i++) w.monitor.record(event(w.clock, { reason: "permission", status: 403, ip: `203.0.113.${i}` }));
      expect(w.alerts).toEqual([]);
    });
  });

  describe("dormant_key_used", () => {
    it("is raised when a key is accepted after 30 days without use (default)", () => {
      const w = watch();
      w.monitor.record(event(w.clock, {}));
      const last = w.clock.now();
      w.clock.advance(45 * DAY);
      w.monitor.record(event(w.clock, { ip: "203.0.113.77" }));
      expect(w.alerts).toHaveLength(1);
      expect(w.alerts[0]).toMatchObject({ type: "dormant_key_used", keyId: "key_a", ip: "203.0.113.77", previousUseAt: new Date(last) });
      expect(w.alerts[0]?.message).toBe("API key flz_sk_prod_…Ab12 (key_a) was used from 203.0.113.77 after 45 days without use");
    });

    it("is not raised by a key used every few days, nor by a key the monitor meets for the first time", () => {
      const w = watch();
      for (let i = 0; i < 30; i++) {
        w.monitor.record(event(w.clock, {}));
        w.clock.advance(29 * DAY);
      }
      w.monitor.record(event(w.clock, { keyId: "key_first_time" }));
      expect(w.alerts).toEqual([]);
    });

    it("knows dormancy across a restart once primed with the store's last used", () => {
      const w = watch({ dormantKeyUsed: { afterMs: 7 * DAY } });
      w.monitor.prime([
        { id: "key_a", lastUsedAt: new Date(w.clock.now() - 10 * DAY) },
        { id: "key_b", lastUsedAt: new Date(w.clock.now() - DAY) },
        { id: "key_c", lastUsedAt: null },
      ]);
      expect(w.monitor.lastSeen("key_a")?.getTime()).toBe(w.clock.now() - 10 * DAY);
      w.monitor.record(event(w.clock, { keyId: "key_a" }));
      w.monitor.record(event(w.clock, { keyId: "key_b" }));
      w.monitor.record(event(w.clock, { keyId: "key_c" }));
      expect(w.alerts.map((a) => [a.type, a.keyId])).toEqual([["dormant_key_used", "key_a"]]);
    });
  });

  describe("time: each event's own, unless a clock is given", () => {
    it("a monitor without a clock follows an authenticator's fake clock (DESIGN §10 gives the clock to the authenticator)", async () => {
      const clock = createFakeClock(Date.UTC(2025, 5, 1));
      const alerts: UsageAlert[] = [];
      const monitor = createUsageMonitor({ onAlert: (a) => alerts.push(a) }); // no clock here
      const store = new MemoryKeyStore();
      const manager = createKeyManager({ store, clock });
      const auth = createApiKeyAuth({ store, clock, onEvent: monitor.record });
      const admin = { id: "usr_admin", admin: true };
      const created = await manager.create({ accountId: "acc_1", actor: admin, name: "Production" });
      const call = (ip: string) => auth.authenticate({ authorization: `Bearer ${created.key}`, method: "GET", ip });

      await call("10.0.0.1");
      clock.advance(31 * DAY);
      await call("10.0.0.1"); // dormant for 31 days on the authenticator's clock
      expect(alerts.map((a) => a.type)).toEqual(["dormant_key_used"]);
      expect(alerts[0]?.message).toContain("after 31 days without use");
      expect(monitor.lastSeen(created.record.id)?.getTime()).toBe(clock.now());

      clock.advance(2 * HOUR); // past the learning window, on the same clock
      for (let i = 0; i < 10; i++) await call(`198.51.100.${i}`);
      expect(alerts.map((a) => a.type)).toEqual(["dormant_key_used", "new_addresses_spike"]);
      await auth.close();
    });

    it("hand-made events carry their time: a scripted stream raises its alerts without any clock", () => {
      const alerts: UsageAlert[] = [];
      const monitor = createUsageMonitor({ onAlert: (a) => alerts.push(a) });
      const clock = createFakeClock(Date.UTC(2024, 0, 1));
      monitor.record(event(clock, { keyId: "key_old" }));
      clock.advance(40 * DAY);
      monitor.record(event(clock, { keyId: "key_old" }));
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ type: "dormant_key_used", previousUseAt: new Date(Date.UTC(2024, 0, 1)) });
      // Two bursts of 20 an hour apart: two alerts (the cool-down of 15 min is over), not one.
      for (const _ of [1, 2]) {
        for (let i = 0; i < 20; i++) monitor.record(event(clock, { reason: "unknown", keyId: null, ip: "203.0.113.9" }));
        clock.advance(HOUR);
      }
      expect(alerts.map((a) => a.type)).toEqual(["dormant_key_used", "invalid_key_burst", "invalid_key_burst"]);
    });

    it("a primed key learns its addresses from its next request on, on the events' time line", () => {
      const alerts: UsageAlert[] = [];
      const monitor = createUsageMonitor({ onAlert: (a) => alerts.push(a) });
      const clock = createFakeClock(Date.UTC(2024, 0, 1)); // long before the real now
      monitor.prime([{ id: "key_a", lastUsedAt: new Date(clock.now() - DAY) }]);
      monitor.record(event(clock, { keyId: "key_a", ip: "10.0.0.1" }));
      clock.advance(2 * HOUR);
      for (let i = 0; i < 10; i++) monitor.record(event(clock, { keyId: "key_a", ip: `198.51.100.${i}` }));
      expect(alerts.map((a) => a.type)).toEqual(["new_addresses_spike"]);
    });

    it("a short dormancy is told in minutes, not as 0 h", () => {
      const w = watch({ dormantKeyUsed: { afterMs: 10 * MIN } });
      w.monitor.record(event(w.clock, {}));
      w.clock.advance(25 * MIN);
      w.monitor.record(event(w.clock, {}));
      expect(w.alerts[0]?.message).toBe("API key flz_sk_prod_…Ab12 (key_a) was used from 198.51.100.7 after 25 min without use");
    });
  });

  describe("wiring and robustness", () => {
    it("record is bound: it can be passed around alone", () => {
      const w = watch();
      const { record } = w.monitor;
      record(event(w.clock, { reason: "revoked", revokedReason: "revoked" }));
      expect(w.alerts).toHaveLength(1);
    });

    it("an onAlert that throws or rejects never breaks record(), and later alerts still arrive", async () => {
      const clock = createFakeClock();
      const seen: string[] = [];
      const monitor = createUsageMonitor({
        clock,
        onAlert: (a) => {
          seen.push(a.keyId ?? "");
          if (a.keyId === "key_throw") throw new Error("pager down");
          if (a.keyId === "key_reject") return Promise.reject(new Error("webhook down")) as unknown as void;
        },
      });
      expect(() => monitor.record(event(clock, { reason: "revoked", revokedReason: "revoked", keyId: "key_throw" }))).not.toThrow();
      expect(() => monitor.record(event(clock, { reason: "revoked", revokedReason: "revoked", keyId: "key_reject" }))).not.toThrow();
      monitor.record(event(clock, { reason: "revoked", revokedReason: "revoked", keyId: "key_fine" }));
      await new Promise((r) => setTimeout(r, 10)); // an unhandled rejection would fail the run here
      expect(seen).toEqual(["key_throw", "key_reject", "key_fine"]);
    });

    it("ignores what is not an event", () => {
      const w = watch();
      for (const junk of [null, undefined, 42, "x", {}, { reason: 5 }]) expect(() => w.monitor.record(junk as never)).not.toThrow();
      expect(w.alerts).toEqual([]);
    });

    it("lastSeen gives the last request with a key, accepted or refused", () => {
      const w = watch();
      expect(w.monitor.lastSeen("key_a")).toBeNull();
      w.monitor.record(event(w.clock, {}));
      w.clock.advance(MIN);
      w.monitor.record(event(w.clock, { reason: "expired" }));
      expect(w.monitor.lastSeen("key_a")?.getTime()).toBe(w.clock.now());
    });

    it.each([
      [{}, "onAlert"],
      [{ onAlert: "log" }, "onAlert"],
      [{ onAlert: () => {}, invalidKeyBurst: { threshold: 0 } }, "invalidKeyBurst.threshold"],
      [{ onAlert: () => {}, newAddressesSpike: { windowMs: -5 } }, "newAddressesSpike.windowMs"],
      [{ onAlert: () => {}, dormantKeyUsed: true }, "dormantKeyUsed"],
      [{ onAlert: () => {}, cooldownMs: 1.5 }, "cooldownMs"],
      [{ onAlert: () => {}, limits: { keys: 0 } }, "limits.keys"],
      [{ onAlert: () => {}, clock: Date }, "clock"],
      [{ onAlert: () => {}, treshold: 3 }, "treshold"],
      // A field of the wrong type inside an option that may also be `false` is named itself.
      [{ onAlert: () => {}, invalidKeyBurst: { threshold: "20" } }, "invalidKeyBurst.threshold"],
      [{ onAlert: () => {}, newAddressesSpike: { windowMs: "1h" } }, "newAddressesSpike.windowMs"],
      [{ onAlert: () => {}, dormantKeyUsed: { afterMs: null } }, "dormantKeyUsed.afterMs"],
      [{ onAlert: () => {}, invalidKeyBurst: { treshold: 3 } }, "invalidKeyBurst.treshold"],
      [{ onAlert: () => {}, invalidKeyBurst: true }, "invalidKeyBurst"],
      // A clock is read once at setup: one that gives no number would stop every window.
      [{ onAlert: () => {}, clock: { now: (): string => "soon" } }, "clock"],
    ])("bad options %j throw INVALID_OPTIONS naming %s", (options, name) => {
      try {
        createUsageMonitor(options as never);
        expect.unreachable();
      } catch (error) {
        expect(isApiKeyError(error) && error.code).toBe("INVALID_OPTIONS");
        expect(isApiKeyError(error) && error.field).toBe(name);
        expect((error as Error).message).toContain(`"${name}"`);
      }
    });
  });
});

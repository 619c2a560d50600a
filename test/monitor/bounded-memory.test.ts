import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { xorshift } from "../support/xorshift.js";
import { createUsageMonitor, type ApiKeyAuthEvent, type UsageMonitorOptions } from "../../src/index.js";
import { createFakeClock } from "../../src/testing/index.js";

const ip = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/**
 * One million events from random addresses: invalid keys, accepted requests of many keys, revoked
 * keys. Every address (and most keys) is new, the worst case for anything that remembers.
 */
function flood(options: Partial<UsageMonitorOptions> = {}, count = 1_000_000) {
  const clock = createFakeClock(Date.UTC(2025, 5, 1));
  let alerts = 0;
  const monitor = createUsageMonitor({ onAlert: () => void alerts++, clock, ...options });
  const next = xorshift(12345);
  const time = new Date(clock.now());
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) {
    const r = next();
    const kind = r % 10;
    const keyId = `key_${next() % 200_000}`;
    const event: ApiKeyAuthEvent =
      kind < 5
        ? { ok: false, reason: "unknown", status: 401, keyId: null, hint: "flz_sk_…abcd", accountId: null, revokedReason: null, ip: ip(next()), userAgent: null, method: "GET", path: "/", time }
        : kind < 9
          ? { ok: true, reason: "ok", status: 200, keyId, hint: "flz_sk_…abcd", accountId: "acc_1", revokedReason: null, ip: ip(next()), userAgent: null, method: "GET", path: "/", time }
          : { ok: false, reason: "revoked", status: 401, keyId, hint: "flz_sk_…abcd", accountId: "acc_1", revokedReason: "revoked", ip: ip(next()), userAgent: null, method: "GET", path: "/", time };
    monitor.record(event);
    if (i % 1000 === 0) clock.advance(1_000); // about 17 minutes of traffic at ~1000 requests a second
  }
  const grownMb = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  return { monitor, alerts, grownMb };
}

/** Heap in use after two full collections (gc exposed at run time: vitest's workers start without it). */
function heap(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe("the monitor's memory stays bounded (DESIGN §8: fixed windows, capped maps)", () => {
  it("1 M events from random addresses never grow a map past its default cap", () => {
    const { monitor, alerts, grownMb } = flood();
    const stats = monitor.stats();
    expect(stats.events).toBe(1_000_000);
    expect(stats.addresses).toBeLessThanOrEqual(10_000);
    expect(stats.keys).toBeLessThanOrEqual(10_000);
    expect(stats.keyAddresses).toBeLessThanOrEqual(100_000);
    expect(stats.cooldowns).toBeLessThanOrEqual(10_000);
    // The caps are reached (old entries are forgotten half a cap at a time): the flood really was bigger than the maps.
    expect(stats.addresses).toBeGreaterThanOrEqual(5_000);
    expect(stats.keys).toBeGreaterThanOrEqual(5_000);
    expect(stats.keyAddresses).toBeGreaterThanOrEqual(50_000);
    // What is kept is the maps' worth (a few tens of MB at most), not the flood's.
    expect(grownMb).toBeLessThan(150);
    // Random one-off addresses are not a burst; revoked keys alert once per key per cool-down.
    expect(stats.alerts).toBe(alerts);
    expect(alerts).toBeLessThanOrEqual(100_000);
  }, 120_000);

  it("honours smaller caps given in options", () => {
    const { monitor } = flood({ limits: { addresses: 100, keys: 50, keyAddresses: 500, cooldowns: 20 } }, 200_000);
    const stats = monitor.stats();
    expect(stats.addresses).toBeLessThanOrEqual(100);
    expect(stats.keys).toBeLessThanOrEqual(50);
    expect(stats.keyAddresses).toBeLessThanOrEqual(500);
    expect(stats.cooldowns).toBeLessThanOrEqual(20);
    expect(stats.keyAddresses).toBeGreaterThanOrEqual(250);
  });

  it("keeps a copy of each address, not the longer client text it was cut from", () => {
    /** Heap kept by 10 000 new addresses of `length` characters (cut to 100 by the monitor), after a collection. */
    const keptBy = (length: number): number => {
      const clock = createFakeClock(Date.UTC(2025, 5, 1));
      const monitor = createUsageMonitor({ onAlert: () => {}, clock });
      const time = new Date(clock.now());
      const before = heap();
      for (let i = 0; i < 10_000; i++) {
        const ip = String(i).padEnd(length, "x"); // as read from a long X-Forwarded-For value
        const base = { hint: "flz_sk_…abcd", userAgent: null, method: "GET", path: "/", time, ip };
        monitor.record({ ...base, ok: true, reason: "ok", status: 200, keyId: "key_1", accountId: "acc_1", revokedReason: null });
        monitor.record({ ...base, ok: false, reason: "unknown", status: 401, keyId: null, accountId: null, revokedReason: null });
      }
      expect(monitor.stats().keyAddresses).toBe(10_000);
      const kept = heap() - before;
      expect(monitor.stats().events).toBe(20_000); // the monitor is still alive here
      return kept;
    };
    const short = keptBy(100);
    const long = keptBy(2_000);
    // Kept as views of their originals, the long ones would hold about 20 MB more (10 000 × 2 KB).
    expect(long - short).toBeLessThan(4 * 2 ** 20);
  });

  it("an address seen again, from a new longer text, is not kept as a view of that text either", () => {
    const clock = createFakeClock(Date.UTC(2025, 5, 1));
    const monitor = createUsageMonitor({ onAlert: () => {}, clock, limits: { addresses: 1_000 } });
    const time = new Date(clock.now());
    const invalid = (ip: string) =>
      monitor.record({ ok: false, reason: "unknown", status: 401, keyId: null, hint: null, accountId: null, revokedReason: null, ip, userAgent: null, method: "GET", path: "/", time });
    const address = (i: number) => `10.0.${i >> 8}.${i & 255}`.padEnd(100, "-"); // what the monitor keeps
    for (let i = 0; i < 400; i++) invalid(address(i));
    for (let i = 400; i < 900; i++) invalid(address(i)); // the first 400 move to the old generation
    const before = heap();
    // The same 400 addresses again, each the first 100 characters of a fresh 64 KB text.
    for (let i = 0; i < 400; i++) invalid(address(i) + "x".repeat(64 * 1024));
    const kept = heap() - before;
    expect(monitor.stats().addresses).toBeLessThanOrEqual(1_000);
    // As views of their texts, those moved back to the young generation keep megabytes (64 KB each).
    expect(kept).toBeLessThan(2 ** 20);
  });
});

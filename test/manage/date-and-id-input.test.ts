import { describe, expect, it } from "vitest";
import { createKeyManager, MemoryKeyStore } from "../../src/index.js";
import { createFakeClock } from "../../src/testing/index.js";
import { rejection } from "./helpers/rejection.js";

const admin = { id: "usr_admin", admin: true };
const NOW = Date.UTC(2025, 0, 1);

function setup() {
  const store = new MemoryKeyStore();
  const clock = createFakeClock(NOW);
  const manager = createKeyManager({ store, clock });
  return { store, clock, manager };
}

/** Each date field of the manager, given `value`: the Date it stored or used, or the error message. */
async function asEveryDateField(value: unknown): Promise<{ create: unknown; rotate: unknown; unusedSince: unknown }> {
  const { manager, clock } = setup();
  const outcome = async (run: () => Promise<unknown>): Promise<unknown> => {
    try {
      return await run();
    } catch (error) {
      return (error as Error).message;
    }
  };
  const create = await outcome(async () => (await manager.create({ accountId: "acc_1", actor: admin, name: "A", expiresAt: value as string })).record.expiresAt?.toISOString());
  const base = await manager.create({ accountId: "acc_1", actor: admin, name: "B" });
  const rotate = await outcome(async () => (await manager.rotate({ accountId: "acc_1", actor: admin, id: base.record.id, expiresAt: value as string })).record.expiresAt?.toISOString());
  // `since` must not be in the future:
  // the clock is moved past every date used here first.
  clock.set(Date.UTC(9999, 0, 1));
  const unusedSince = await outcome(async () => {
    await manager.unused({ accountId: "acc_1", since: value as string });
    return "accepted";
  });
  return { create, rotate, unusedSince };
}

describe("date fields (create's and rotate's expiresAt, unused's since): one strict rule", () => {
  it.each([
    ["2030-01-31", "2030-01-31T00:00:00.000Z"],
    ["2030-01-31T12:00Z", "2030-01-31T12:00:00.000Z"],
    ["2030-01-31T12:00:05Z", "2030-01-31T12:00:05.000Z"],
    ["2030-01-31T12:00:05.123456Z", "2030-01-31T12:00:05.123Z"],
    ["2030-01-31T12:00:00+02:00", "2030-01-31T10:00:00.000Z"],
    ["2030-01-31T00:30:00-01:45", "2030-01-31T02:15:00.000Z"],
    ["2030-02-28T23:59:59.999Z", "2030-02-28T23:59:59.999Z"],
    ["2028-02-29", "2028-02-29T00:00:00.000Z"],
  ])("accepts the ISO 8601 string %s as %s, the same in every field", async (text, iso) => {
    const r = await asEveryDateField(text);
    expect(r).toEqual({ create: iso, rotate: iso, unusedSince: "accepted" });
  });

  it.each([
    ["01/02/2030", "depends on the reader's idea of day and month order"],
    ["March 7, 2030", "not ISO 8601"],
    ["2030", "a year alone"],
    ["Tue Jan 01 2030", "Date.prototype.toString output"],
    ["2030-01-31 12:00:00Z", "a space for T"],
    ["2030-02-30", "no such day"],
    ["2029-02-29", "not a leap year"],
    ["2030-13-01", "no such month"],
    ["2030-01-31T24:00:00Z", "no hour 24"],
    ["2030-01-31T12:60:00Z", "no minute 60"],
    ["2030-01-31T12:00:00+24:00", "no such offset"],
    [" 2030-01-31", "surrounding space"],
    ["2030-01-31" + " ".repeat(200), "padded far past any date"],
    ["", "empty"],
    [20300131, "a number"],
    [true, "not a date at all"],
  ] as [unknown, string][])("refuses %j (%s) with the same 400 in every field", async (value, _why) => {
    const r = await asEveryDateField(value);
    const expected = "Invalid expiresAt: must be a Date or an ISO 8601 date (2030-01-31, or 2030-01-31T12:00:00Z with Z or an offset)";
    expect(r).toEqual({ create: expected, rotate: expected, unusedSince: expected.replace("expiresAt", "since") });
  });

  it("refuses a date and time without an offset, saying why (it would be read in the server's time zone)", async () => {
    const r = await asEveryDateField("2030-01-31T12:00:00");
    const why = "needs Z or an offset after the time (2030-01-31T12:00:00Z), so it does not depend on the server's time zone";
    expect(r).toEqual({ create: `Invalid expiresAt: ${why}`, rotate: `Invalid expiresAt: ${why}`, unusedSince: `Invalid since: ${why}` });
  });

  it("years 0–99 are themselves: 0000-02-29 is a day (a leap year), as a Date's own ISO string says", async () => {
    const { manager } = setup();
    const day = new Date("0000-02-29T00:00:00Z");
    for (const since of [day, day.toISOString(), "0000-02-29", "0099-12-31T23:59:59Z"]) {
      await expect(manager.unused({ accountId: "acc_1", since })).resolves.toEqual([]);
    }
    await expect(manager.unused({ accountId: "acc_1", since: "0001-02-29" })).rejects.toThrow(/must be a Date or an ISO 8601 date/);
  });

  it("a Date is taken by its time; an Invalid Date or a Proxy of a Date is refused", async () => {
    expect((await asEveryDateField(new Date("2030-01-31T12:00:00Z"))).create).toBe("2030-01-31T12:00:00.000Z");
    const invalid = await asEveryDateField(new Date(Number.NaN));
    expect(invalid.create).toMatch(/^Invalid expiresAt: must be a Date or an ISO 8601 date/);
    const proxy = await asEveryDateField(new Proxy(new Date("2030-01-31T12:00:00Z"), {}));
    expect(proxy.rotate).toMatch(/^Invalid expiresAt: must be a Date or an ISO 8601 date/);
  });
});

describe("key ids: one rule and one wording for revoke, rotate and rotationStatus", () => {
  it.each([
    ["", "a key id is required"],
    [42, "a key id is required"],
    ["k".repeat(201), "a key id is at most 200 characters"],
    ["k".repeat(300), "a key id is at most 200 characters"],
    ["key_\u0000", "not a key id (it holds a NUL or a lone surrogate)"],
    ["key_\uD800", "not a key id (it holds a NUL or a lone surrogate)"],
  ])("%j: the same 400 from all three", async (id, problem) => {
    const { manager } = setup();
    const revoke = await rejection(manager.revoke({ accountId: "acc_1", actor: admin, id: id as string }));
    const rotate = await rejection(manager.rotate({ accountId: "acc_1", actor: admin, id: id as string }));
    const status = await rejection(manager.rotationStatus({ accountId: "acc_1", id: id as string }));
    for (const e of [revoke, rotate, status]) expect([e.status, e.code, e.message]).toEqual([400, "VALIDATION_ERROR", `Invalid id: ${problem}`]);
  });

  it("an id of exactly 200 characters is looked up (404 when there is none)", async () => {
    const { manager } = setup();
    const e = await rejection(manager.revoke({ accountId: "acc_1", actor: admin, id: "k".repeat(200) }));
    expect([e.status, e.message]).toEqual([404, "API key not found"]);
  });
});

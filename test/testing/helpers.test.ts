import { describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/index.js";
import { createFakeClock, createSeededRandom, makeTestRecord } from "../../src/testing/index.js";

describe("testing helpers", () => {
  it("the fake clock moves only when told", () => {
    const clock = createFakeClock(new Date("2025-01-01T00:00:00Z"));
    expect(clock.now()).toBe(Date.UTC(2025, 0, 1));
    clock.advance(1_500);
    expect(clock.now()).toBe(Date.UTC(2025, 0, 1) + 1_500);
    clock.set(0);
    expect(clock.now()).toBe(0);
    expect(() => clock.advance(-1)).toThrow(expect.objectContaining({ code: "INVALID_INPUT", field: "ms" }));
  });

  it("the seeded random source repeats per seed and differs across seeds", () => {
    const a = new Uint8Array(64);
    const b = new Uint8Array(64);
    createSeededRandom("s")(a);
    createSeededRandom("s")(b);
    expect(a).toEqual(b);
    createSeededRandom("t")(b);
    expect(a).not.toEqual(b);
    expect(generateApiKey({ random: createSeededRandom(3) }).key).toBe(generateApiKey({ random: createSeededRandom(3) }).key);
  });

  it("makeTestRecord gives unique ids, hashes and accounts", () => {
    const a = makeTestRecord();
    const b = makeTestRecord({ name: "B" });
    expect(a.id).not.toBe(b.id);
    expect(a.hash).not.toBe(b.hash);
    expect(a.accountId).not.toBe(b.accountId);
    expect(b.name).toBe("B");
  });
});

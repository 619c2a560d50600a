// The memory store's digest table against a plain Map: same answers for any sequence of sets and
// gets, with real digests, made-up digests that pile into one run, and keys of other lengths.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DigestMap, slotOf } from "../../src/lib/digest-map.js";

const digest = (text: string): string => createHash("sha256").update(text).digest().toString("latin1");
/** Fixtures as a caller might write them: only a middle character differs (same first and last 4). */
const madeUp = (n: number): string => `AAAA${String.fromCharCode(n & 0xff, (n >> 8) & 0xff)}${"\u0000".repeat(22)}ZZZZ`;

function usesSlots(map: DigestMap<unknown>): boolean {
  return (map as unknown as { fallback: Map<string, unknown> | null }).fallback === null;
}

describe("DigestMap", () => {
  it("answers like a Map for any sets, gets, deletes and clears (real digests, made-up ones, other lengths)", () => {
    const key = fc.oneof(
      fc.integer({ min: 0, max: 400 }).map((n) => digest(`k${n}`)),
      fc.integer({ min: 0, max: 120 }).map(madeUp),
      fc.string({ maxLength: 40 }),
      fc.string({ minLength: 32, maxLength: 32 }),
    );
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constant("set" as const), key, fc.integer()) },
      { weight: 4, arbitrary: fc.tuple(fc.constant("get" as const), key, fc.constant(0)) },
      { weight: 3, arbitrary: fc.tuple(fc.constant("delete" as const), key, fc.constant(0)) },
      { weight: 1, arbitrary: fc.tuple(fc.constant("clear" as const), key, fc.constant(0)) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const map = new DigestMap<number>();
        const model = new Map<string, number>();
        for (const [kind, k, v] of ops) {
          if (kind === "set") {
            map.set(k, v);
            model.set(k, v);
          } else if (kind === "get") {
            expect(map.get(k)).toBe(model.get(k));
          } else if (kind === "delete") {
            expect(map.delete(k)).toBe(model.delete(k));
          } else {
            map.clear();
            model.clear();
          }
        }
        expect(map.size).toBe(model.size);
        for (const [k, v] of model) expect(map.get(k)).toBe(v);
      }),
      { numRuns: 300 },
    );
  });

  it("finds every remaining digest after deletes in crowded runs (small table, wrap-around)", () => {
    // Real digests picked for where they start in a 16-slot table: runs that collide and wrap
    // past the table's end (slots 14, 15, 0, 1).
    const startingAt = (slot: number, skip: number): string => {
      for (let n = 0, found = 0; ; n++) {
        const d = digest(`wrap ${n}`);
        if (slotOf(d, 15) === slot && found++ === skip) return d;
      }
    };
    const slotted = (slot: number, id: number): string => startingAt(slot, id);
    const map = new DigestMap<number>();
    const model = new Map<string, number>();
    const all = [slotted(14, 1), slotted(15, 2), slotted(15, 3), slotted(14, 4), slotted(0, 5), slotted(1, 6), slotted(15, 7)];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat({ max: all.length - 1 })), { maxLength: 60 }), (ops) => {
        map.clear();
        model.clear();
        for (const [isSet, n] of ops) {
          const k = all[n] as string;
          if (isSet) {
            map.set(k, n);
            model.set(k, n);
          } else {
            expect(map.delete(k)).toBe(model.delete(k));
          }
          for (const other of all) expect(map.get(other)).toBe(model.get(other));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("keeps real digests in its slots through many resizes, and finds none it was not given", () => {
    const map = new DigestMap<number>();
    for (let i = 0; i < 50_000; i++) map.set(digest(`key ${i}`), i);
    expect(usesSlots(map)).toBe(true);
    expect(map.size).toBe(50_000);
    for (let i = 0; i < 50_000; i += 7) expect(map.get(digest(`key ${i}`))).toBe(i);
    for (let i = 0; i < 1000; i++) expect(map.get(digest(`other ${i}`))).toBeUndefined();
    map.set(digest("key 3"), -3);
    expect(map.get(digest("key 3"))).toBe(-3);
    expect(map.size).toBe(50_000);
  });

  it("moves to a Map when made-up digests pile into one run, losing nothing", () => {
    const map = new DigestMap<number>();
    for (let i = 0; i < 40; i++) map.set(digest(`real ${i}`), i);
    for (let n = 0; n < 200; n++) map.set(madeUp(n), 1000 + n);
    expect(usesSlots(map)).toBe(false);
    for (let i = 0; i < 40; i++) expect(map.get(digest(`real ${i}`))).toBe(i);
    for (let n = 0; n < 200; n++) expect(map.get(madeUp(n))).toBe(1000 + n);
    expect(map.get(madeUp(500))).toBeUndefined();
    expect(map.size).toBe(240);
  });
});

describe("DigestMap slots", () => {
  it("fixtures that differ only in their last characters (sha256:000…001, …002) keep their own slots", () => {
    const map = new DigestMap<number>();
    const fixture = (n: number): string => Buffer.from(n.toString(16).padStart(64, "0"), "hex").toString("latin1");
    for (let n = 1; n <= 5000; n++) map.set(fixture(n), n);
    expect(usesSlots(map)).toBe(true);
    for (let n = 1; n <= 5000; n++) expect(map.get(fixture(n))).toBe(n);
  });
});

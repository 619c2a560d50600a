import { describe, expect, it } from "vitest";
import { CappedMap } from "../../src/monitor/capped-map.js";

describe("CappedMap (the monitor's bounded maps)", () => {
  it("holds at most `cap` entries, forgetting the oldest generation first, and keeps what is used again", () => {
    const map = new CappedMap<string, number>(4);
    for (const k of ["a", "b"]) map.set(k, 1); // young reaches half: becomes old
    expect(map.get("a")).toBe(1); // moved back to young
    for (const k of ["c", "d"]) map.set(k, 1); // young {a, c} reaches half: old {b} is dropped
    expect(map.size).toBeLessThanOrEqual(4);
    expect(map.peek("b")).toBeUndefined();
    expect(map.peek("a")).toBe(1);
  });

  it("stores every key through ownKey: new entries, and entries moved back from the old generation", () => {
    const stored: string[] = [];
    const map = new CappedMap<string, number>(4, (key) => {
      stored.push(key);
      return `own:${key}`.slice(4);
    });
    map.set("x", 1);
    map.set("y", 2); // young reaches half (2): both now in the old generation
    expect(stored).toEqual(["x", "y"]);
    map.set("y", 3); // an update moves it back to young: stored again through ownKey
    expect(stored).toEqual(["x", "y", "y"]);
    map.set("y", 4); // already young: the stored key stays, no copy
    expect(stored).toEqual(["x", "y", "y"]);
    expect(map.get("x")).toBe(1); // moved back on use: stored again through ownKey
    expect(stored).toEqual(["x", "y", "y", "x"]);
  });
});

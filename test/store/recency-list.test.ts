import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { RecencyList } from "../../src/lib/recency-list.js";

interface Item {
  readonly id: number;
  older: Item | null;
  newer: Item | null;
}
const item = (id: number): Item => ({ id, older: null, newer: null });

/** The ids from oldest to newest, walking the links both ways (they must agree). */
function ids(list: RecencyList<Item>): number[] {
  const forward: number[] = [];
  let last: Item | null = null;
  for (let e = list.oldest; e !== null; e = e.newer) {
    forward.push(e.id);
    last = e;
  }
  const backward: number[] = [];
  for (let e = last; e !== null; e = e.older) backward.unshift(e.id);
  expect(backward).toEqual(forward);
  return forward;
}

describe("RecencyList (the verification cache's eviction order)", () => {
  it("lists entries oldest first; removing from the front, middle or end keeps the rest in order", () => {
    const list = new RecencyList<Item>();
    const items = [1, 2, 3, 4, 5].map(item);
    for (const i of items) list.push(i);
    expect(ids(list)).toEqual([1, 2, 3, 4, 5]);
    list.remove(items[0] as Item);
    list.remove(items[2] as Item);
    list.remove(items[4] as Item);
    expect(ids(list)).toEqual([2, 4]);
    expect(list.size).toBe(2);
    list.push(items[0] as Item); // put back in: now the newest
    expect(ids(list)).toEqual([2, 4, 1]);
    list.clear();
    expect(list.size).toBe(0);
    expect(list.oldest).toBeNull();
  });

  it("agrees with a plain array model over random pushes and removals", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(20)), { maxLength: 200 }), (ops) => {
        const list = new RecencyList<Item>();
        const model: number[] = [];
        const listed = new Map<number, Item>();
        for (const [push, id] of ops) {
          const existing = listed.get(id);
          if (existing !== undefined) {
            list.remove(existing);
            listed.delete(id);
            model.splice(model.indexOf(id), 1);
          }
          if (push) {
            const fresh = item(id);
            list.push(fresh);
            listed.set(id, fresh);
            model.push(id);
          }
          if (list.oldest?.id !== model[0]) return false;
        }
        expect(ids(list)).toEqual(model);
        return list.size === model.length;
      }),
      { numRuns: 300 },
    );
  });
});

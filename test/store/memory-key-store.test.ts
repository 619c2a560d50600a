import { describe, expect, it } from "vitest";
import { MemoryKeyStore } from "../../src/index.js";
import { makeTestRecord, runKeyStoreConformance } from "../../src/testing/index.js";

runKeyStoreConformance("MemoryKeyStore", () => new MemoryKeyStore());

describe("MemoryKeyStore", () => {
  it("counts what it holds (bounded only by the caller)", async () => {
    const store = new MemoryKeyStore();
    for (let i = 0; i < 100; i++) await store.insert(makeTestRecord());
    expect(store.size).toBe(100);
  });

  it("unsubscribing stops announcements, and a throwing listener does not undo a revocation", async () => {
    const store = new MemoryKeyStore();
    const r = makeTestRecord();
    await store.insert(r);
    const seen: string[] = [];
    const stop = store.subscribeRevocations((x) => seen.push(x.id));
    store.subscribeRevocations(() => {
      throw new Error("listener bug");
    });
    await store.revoke(r.id);
    stop();
    const r2 = makeTestRecord();
    await store.insert(r2);
    await store.revoke(r2.id);
    expect(seen).toEqual([r.id]);
    expect((await store.getById(r2.id))?.revokedAt).toBeInstanceOf(Date);
  });
});

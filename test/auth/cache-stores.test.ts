import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKeyAuth, createKeyManager, type ApiKeyRecord } from "../../src/index.js";
import { PostgresKeyStore } from "../../src/stores/postgres/index.js";
import { uniqueName } from "../stores/helpers.js";

/** The PGlite store, counting the lookups that reach the database. */
class CountingStore extends PostgresKeyStore {
  lookups = 0;
  override async getByHash(hash: string): Promise<ApiKeyRecord | null> {
    this.lookups++;
    return super.getByHash(hash);
  }
}

// The cache with a real store and its real announcement channel (PGlite: no server needed).
describe("verification cache on PostgresKeyStore (PGlite)", () => {
  let db: PGlite;
  const table = uniqueName("cache");
  beforeAll(async () => {
    db = await PGlite.create();
    await new PostgresKeyStore({ client: db, table }).migrate();
  });
  afterAll(async () => {
    await db?.close();
  });

  async function setup() {
    const store = new CountingStore({ client: db, table });
    const manager = createKeyManager({ store });
    const actor = { id: "usr_admin", admin: true };
    const { key, record } = await manager.create({ accountId: uniqueName("acc"), actor, name: "Production" });
    const auth = createApiKeyAuth({ store, cache: { ttlMs: 60_000, max: 100 } });
    const request = { authorization: `Bearer ${key}`, method: "GET" };
    // Until LISTEN is live the cache is bypassed; then a request is answered from memory.
    let cached = false;
    const end = Date.now() + 5_000;
    while (!cached && Date.now() < end) {
      expect((await auth.authenticate(request)).ok).toBe(true);
      const before = store.lookups;
      expect((await auth.authenticate(request)).ok).toBe(true);
      cached = store.lookups === before;
      if (!cached) await new Promise((r) => setTimeout(r, 10));
    }
    expect(cached).toBe(true);
    const revoke = () => manager.revoke({ accountId: record.accountId, actor, id: record.id });
    return { store, auth, request, revoke };
  }

  it("bypasses the cache until the channel is live, then answers hits from memory", async () => {
    const { auth } = await setup();
    await auth.close();
  });

  it("a revocation announced by NOTIFY drops the cached key within milliseconds", async () => {
    const { auth, request, revoke } = await setup();
    await revoke();
    const resolved = Date.now();
    let refused = false;
    while (!refused && Date.now() - resolved < 1_000) {
      refused = !(await auth.authenticate(request)).ok;
      if (!refused) await new Promise((r) => setTimeout(r, 1));
    }
    expect(refused).toBe(true);
    expect(Date.now() - resolved).toBeLessThan(50);
    await auth.close();
  });
});

// DESIGN §9: no server accepts a key after revoke() resolves — also a server whose clock runs
// behind the one that revoked it. A rotation's grace still ends exactly at its time.
import { describe, expect, it } from "vitest";
import { createApiKeyAuth, createKeyManager, generateApiKey, hashApiKey, MemoryKeyStore } from "../../src/index.js";
import { createFakeClock, makeTestRecord } from "../../src/testing/index.js";

const T = Date.UTC(2026, 10, 27, 12, 0, 0);

async function world(revokedAt: Date, revokedReason: string) {
  const store = new MemoryKeyStore();
  const { key } = generateApiKey({ environment: "prod" });
  await store.insert(makeTestRecord({ hash: hashApiKey(key), revokedAt, revokedReason }));
  return { store, key };
}

describe("revocation on a server whose clock runs behind", () => {
  it("a revocation recorded 30 s ahead of this server's clock already holds here (cache off and on)", async () => {
    const { store, key } = await world(new Date(T + 30_000), "revoked");
    for (const cache of [undefined, { ttlMs: 60_000, max: 100 }]) {
      const auth = createApiKeyAuth({ store, clock: createFakeClock(new Date(T)), cache });
      const result = await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" });
      expect(result).toMatchObject({ ok: false, status: 401, reason: "revoked" });
      await auth.close();
    }
  });

  it("a rotation's grace ends exactly at its time, not earlier", async () => {
    const { store, key } = await world(new Date(T + 30_000), "rotated");
    const clock = createFakeClock(new Date(T));
    const auth = createApiKeyAuth({ store, clock });
    expect((await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
    clock.advance(29_999);
    expect((await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
    clock.advance(1);
    expect(await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).toMatchObject({ ok: false, reason: "revoked" });
    await auth.close();
  });

  it("the manager revoking on a clock ahead: another server's authenticator and the key list agree at once", async () => {
    const store = new MemoryKeyStore();
    const admin = { id: "usr_1", admin: true };
    const ahead = createKeyManager({ store, clock: createFakeClock(new Date(T + 20_000)) });
    const { key, record } = await ahead.create({ accountId: "acc_1", actor: admin, name: "Production" });
    await ahead.revoke({ accountId: "acc_1", actor: admin, id: record.id });
    const behind = createFakeClock(new Date(T));
    const auth = createApiKeyAuth({ store, clock: behind });
    expect(await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).toMatchObject({ ok: false, reason: "revoked" });
    const [row] = await createKeyManager({ store, clock: behind }).list({ accountId: "acc_1" });
    expect(row?.status).toBe("revoked");
    await auth.close();
  });
});

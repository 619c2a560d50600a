// The manager refuses, as 400 (or 403), input that no store could keep: stores refuse such records
// at insert (INVALID_INPUT), so letting it through would answer a caller's mistake with a 503 (or,
// before stores checked, keep it in one store and refuse it in another). Run on the memory store
// and on PostgreSQL (PGlite), which must answer alike.
import { PGlite } from "@electric-sql/pglite";
import { afterAll, describe, expect, it } from "vitest";
import { createKeyManager, isApiKeyError, MemoryKeyStore, type KeyStore } from "../../src/index.js";
import { PostgresKeyStore } from "../../src/stores/postgres/index.js";

const admin = { id: "usr_admin", admin: true };
const FAR = new Date("+010000-01-01T00:00:00.000Z");
const LAST = Date.parse("9999-12-31T23:59:59.999Z");

async function refusal(promise: Promise<unknown>): Promise<{ status: number | undefined; code: string; field: string | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (!isApiKeyError(error)) throw error;
    return { status: error.status, code: error.code, field: error.field };
  }
  throw new Error("expected a rejection");
}

const lite = new PGlite();
afterAll(() => lite.close());

const stores: [string, () => Promise<KeyStore>][] = [
  ["MemoryKeyStore", async () => new MemoryKeyStore()],
  [
    "PostgresKeyStore on PGlite",
    async () => {
      const store = new PostgresKeyStore({ client: lite, confirmTimeoutMs: false });
      await store.migrate();
      return store;
    },
  ],
];

describe.each(stores)("management input every store can keep (%s)", (_, makeStore) => {
  let n = 0;
  const account = () => `acc_storable_${Date.now().toString(36)}_${n++}`;

  it("create: an expiry past 9999-12-31 is 400 VALIDATION_ERROR naming expiresAt, and nothing is stored", async () => {
    const store = await makeStore();
    const manager = createKeyManager({ store });
    const accountId = account();
    for (const expiresAt of [FAR, FAR.toISOString(), new Date(8.64e15)]) {
      expect(await refusal(manager.create({ accountId, actor: admin, name: "Far", expiresAt }))).toEqual({ status: 400, code: "VALIDATION_ERROR", field: "expiresAt" });
    }
    expect(await manager.list({ accountId })).toEqual([]);
    // The last day is fine.
    const { record } = await manager.create({ accountId, actor: admin, name: "Last", expiresAt: new Date(LAST) });
    expect(record.expiresAt?.getTime()).toBe(LAST);
  });

  it("create: metadata with a NUL or a lone surrogate is 400 naming metadata", async () => {
    const manager = createKeyManager({ store: await makeStore() });
    const accountId = account();
    for (const metadata of [{ team: "a\u0000b" }, { "k\u0000": 1 }, { team: "\uD800" }, { nested: { list: ["ok", "\uDC00"] } }]) {
      expect(await refusal(manager.create({ accountId, actor: admin, name: "Meta", metadata }))).toEqual({ status: 400, code: "VALIDATION_ERROR", field: "metadata" });
    }
    expect(await manager.list({ accountId })).toEqual([]);
  });

  it("rotate: a requested expiry past 9999-12-31 is 400; a carried-over lifetime is capped there", async () => {
    const manager = createKeyManager({ store: await makeStore() });
    const accountId = account();
    const long = await manager.create({ accountId, actor: admin, name: "Long", expiresAt: new Date(LAST) });
    expect(await refusal(manager.rotate({ accountId, actor: admin, id: long.record.id, expiresAt: FAR }))).toEqual({ status: 400, code: "VALIDATION_ERROR", field: "expiresAt" });
    // The old key's lifetime counted from now would end after 9999: capped, and the rotation works.
    const rotated = await manager.rotate({ accountId, actor: admin, id: long.record.id });
    expect(rotated.record.expiresAt?.getTime()).toBe(LAST);
    expect(rotated.previous.status).toBe("revoked");
  });

  it("an accountId or key id with a NUL or lone surrogate is 400, not a store error", async () => {
    const manager = createKeyManager({ store: await makeStore() });
    for (const accountId of ["acc\u0000", "acc\uD800"]) {
      expect(await refusal(manager.list({ accountId }))).toMatchObject({ status: 400, field: "accountId" });
      expect(await refusal(manager.create({ accountId, actor: admin, name: "X" }))).toMatchObject({ status: 400, field: "accountId" });
    }
    const accountId = account();
    expect(await refusal(manager.revoke({ accountId, actor: admin, id: "key\u0000" }))).toMatchObject({ status: 400, field: "id" });
    expect(await refusal(manager.rotate({ accountId, actor: admin, id: "key\u0000" }))).toMatchObject({ status: 400, field: "id" });
    expect(await refusal(manager.rotationStatus({ accountId, id: "key\uDC00" }))).toMatchObject({ status: 400, field: "id" });
  });

  it("an actor whose id cannot be kept as createdBy (empty, a NUL) is not an identified administrator: 403", async () => {
    const manager = createKeyManager({ store: await makeStore() });
    const accountId = account();
    for (const id of ["", "usr\u0000", "x".repeat(1001)]) {
      expect(await refusal(manager.create({ accountId, actor: { id, admin: true }, name: "X" }))).toMatchObject({ status: 403, code: "FORBIDDEN" });
    }
    expect(await manager.list({ accountId })).toEqual([]);
  });
});

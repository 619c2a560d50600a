import { describe, expect, it } from "vitest";
import { createApiKeyAuth, generateApiKey, hashApiKey, MemoryKeyStore } from "../../src/index.js";
import { makeTestRecord, runKeyStoreConformance } from "../../src/testing/index.js";

runKeyStoreConformance("MemoryKeyStore", () => new MemoryKeyStore(), { strictInput: true, rotationRules: true });

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

  it("an Invalid Date revokes nothing and announces nothing; the key stays revocable", async () => {
    const store = new MemoryKeyStore();
    const r = makeTestRecord();
    await store.insert(r);
    const seen: string[] = [];
    store.subscribeRevocations((x) => seen.push(x.id));
    await expect(store.revoke(r.id, { at: new Date("garbage") })).rejects.toMatchObject({ code: "INVALID_INPUT", field: "at" });
    expect(seen).toEqual([]);
    // Refused even for an unknown id: the input is wrong whatever is stored.
    await expect(store.revoke("key_unknown", { at: new Date(Number.NaN) })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await store.revoke(r.id);
    expect(seen).toEqual([r.id]);
    // The authenticator refuses it from then on.
    const { key } = generateApiKey({ environment: "prod" });
    const other = makeTestRecord({ hash: hashApiKey(key), environment: "prod" });
    await store.insert(other);
    await expect(store.revoke(other.id, { at: new Date("garbage") })).rejects.toThrow(/"at"/);
    const auth = createApiKeyAuth({ store });
    expect((await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
    await store.revoke(other.id);
    const refused = await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" });
    expect(!refused.ok && refused.reason).toBe("revoked");
  });

  it("files every hash string in its own slot: usual, upper-case hex, odd and look-alike hashes never meet", async () => {
    const store = new MemoryKeyStore();
    const hex = "ab".repeat(32);
    const hashes = [
      `sha256:${hex}`,
      `sha256:${hex.toUpperCase()}`,
      `hmac-sha256:1:${hex}`,
      `hmac-sha256:2:${hex}`,
      hex,
      `:${hex}`,
      `sha256:${hex}0`,
      "h1",
      "sha256:",
    ];
    for (const hash of hashes) await store.insert(makeTestRecord({ hash }));
    // An empty hash is no hash: refused with the other malformed records (see the conformance suite).
    await expect(store.insert(makeTestRecord({ hash: "" }))).rejects.toMatchObject({ code: "INVALID_INPUT", field: "hash" });
    for (const hash of hashes) expect((await store.getByHash(hash))?.hash).toBe(hash);
    expect(await store.getByHash(`sha256:${"cd".repeat(32)}`)).toBeNull();
    await expect(store.insert(makeTestRecord({ hash: `sha256:${hex}` }))).rejects.toMatchObject({ code: "DUPLICATE_KEY" });
  });

  it("the authenticator finds a key by its exact stored hash only", async () => {
    const { key } = generateApiKey({ environment: "prod" });
    const exact = new MemoryKeyStore();
    await exact.insert(makeTestRecord({ hash: hashApiKey(key), environment: "prod" }));
    const near = new MemoryKeyStore();
    await near.insert(makeTestRecord({ hash: hashApiKey(key).toUpperCase().replace("SHA256:", "sha256:"), environment: "prod" }));
    const request = { authorization: `Bearer ${key}`, method: "GET" };
    expect((await createApiKeyAuth({ store: exact }).authenticate(request)).ok).toBe(true);
    const refused = await createApiKeyAuth({ store: near }).authenticate(request);
    expect(!refused.ok && refused.reason).toBe("unknown");
  });
});

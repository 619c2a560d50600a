// DESIGN §2: the core uses Web-standard APIs only, so it runs where Node's crypto does not exist
// (Workers, Deno without node: compat). There the hash comes from @noble/hashes; the result must be
// the same digests, and the whole request path must work.
import { afterEach, describe, expect, it, vi } from "vitest";

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe("without Node's crypto (as on Workers)", () => {
  it("hashes with @noble/hashes to the same values and authenticates", async () => {
    const node = await import("../../src/index.js");
    const { key } = node.generateApiKey({ environment: "prod" });
    const expected = [node.hashApiKey(key), node.hashApiKey(key, { pepper: { version: "3", secret: "pepper" } })];

    vi.resetModules();
    // A process object without getBuiltinModule: the digest module must find no native crypto.
    vi.stubGlobal("process", { ...process, getBuiltinModule: undefined });
    const digest = await import("../../src/hash/digest.js");
    expect(digest.nativeCrypto()).toBeNull();
    const web = await import("../../src/index.js");
    expect([web.hashApiKey(key), web.hashApiKey(key, { pepper: { version: "3", secret: "pepper" } })]).toEqual(expected);

    const store = new web.MemoryKeyStore();
    const manager = web.createKeyManager({ store });
    const created = await manager.create({ accountId: "acc", actor: { id: "u", admin: true }, name: "Edge" });
    const auth = web.createApiKeyAuth({ store });
    expect((await auth.authenticate({ authorization: `Bearer ${created.key}`, method: "GET" })).ok).toBe(true);
    expect(digest.nativeCrypto()).toBeNull(); // still the portable path
  });
});

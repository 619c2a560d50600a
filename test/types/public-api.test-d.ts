import { describe, expectTypeOf, it } from "vitest";
import {
  createApiKeyAuth,
  createKeyManager,
  generateApiKey,
  hashApiKey,
  isApiKeyError,
  MemoryKeyStore,
  parseApiKey,
  type ApiKeyAuthResult,
  type ApiKeyRecord,
  type AuthenticatedApiKey,
  type KeyStore,
} from "../../src/index.js";
import { createFakeClock, runKeyStoreConformance } from "../../src/testing/index.js";

describe("public API types (DESIGN §10)", () => {
  it("generate, parse and hash", () => {
    expectTypeOf(generateApiKey({ environment: "dev" })).toEqualTypeOf<{ readonly key: string; readonly hint: string; readonly environment: string | null }>();
    const parsed = parseApiKey("x");
    if (parsed.ok) expectTypeOf(parsed.environment).toEqualTypeOf<string | null>();
    else expectTypeOf(parsed.reason).toExtend<string>();
    expectTypeOf(hashApiKey("x", { pepper: "p" })).toEqualTypeOf<string>();
  });

  it("authenticate gives a discriminated result", async () => {
    const auth = createApiKeyAuth({ store: new MemoryKeyStore(), accounts: { getPlan: async () => "pro" } });
    const result = await auth.authenticate({ authorization: ["a", "b"], method: "GET" });
    expectTypeOf(result).toEqualTypeOf<ApiKeyAuthResult>();
    if (result.ok) {
      expectTypeOf(result.key).toEqualTypeOf<AuthenticatedApiKey>();
      expectTypeOf(result.key.permissions).toEqualTypeOf<"all" | "read-only">();
    } else {
      expectTypeOf(result.status).toEqualTypeOf<401 | 403 | 503>();
      expectTypeOf(result.body.error.code).toEqualTypeOf<string>();
      expectTypeOf(result.headers).toEqualTypeOf<Readonly<Record<string, string>>>();
    }
    // @ts-expect-error method is required
    void auth.authenticate({ authorization: "x" });
  });

  it("MemoryKeyStore is a KeyStore; the manager returns the plaintext with the record", async () => {
    expectTypeOf<MemoryKeyStore>().toExtend<KeyStore>();
    const manager = createKeyManager({ store: new MemoryKeyStore() });
    const created = await manager.create({ accountId: "a", actor: { id: "u", admin: true }, name: "n" });
    expectTypeOf(created.key).toEqualTypeOf<string>();
    expectTypeOf(created.record).toEqualTypeOf<ApiKeyRecord>();
    // @ts-expect-error permissions are "all" or "read-only"
    void manager.create({ accountId: "a", actor: { id: "u", admin: true }, name: "n", permissions: "admin" });
  });

  it("isApiKeyError narrows", () => {
    const e: unknown = new Error();
    if (isApiKeyError(e)) expectTypeOf(e.code).toExtend<string>();
  });

  it("testing helpers", () => {
    expectTypeOf(createFakeClock().now()).toEqualTypeOf<number>();
    expectTypeOf(runKeyStoreConformance).parameter(1).toEqualTypeOf<() => KeyStore | Promise<KeyStore>>();
  });
});

import { describe, expect, it } from "vitest";
import { createApiKeyAuth, MemoryKeyStore, type ApiKeyAuthResult } from "../../src/index.js";
import { makeWorld, UNAUTHORIZED } from "../support/world.js";

const challenge = 'Bearer realm="api"';
const get = (authorization: string | string[] | undefined, method = "GET") => ({ authorization, method, ip: "203.0.113.9", userAgent: "curl/8", path: "/v1/contacts" });

function expectFailure(r: ApiKeyAuthResult, status: number, code: string, message: string, headers: Record<string, string>) {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.status).toBe(status);
  expect(r.body).toEqual({ success: false, error: { code, message } });
  expect(JSON.stringify(r.body)).toBe(`{"success":false,"error":{"code":"${code}","message":"${message}"}}`);
  expect(r.headers).toEqual(headers);
}

describe("DESIGN §5 status table, row by row", async () => {
  const w = await makeWorld();

  it("a valid key is accepted with the key's id, account, name, environment, permissions and hint", async () => {
    const r = await w.auth.authenticate(get(`Bearer ${w.keys.prod}`));
    expect(r).toEqual({
      ok: true,
      key: {
        id: w.records.prod.id,
        accountId: "acc_pro",
        name: "Production",
        environment: "prod",
        permissions: "all",
        hint: w.records.prod.hint,
      },
    });
  });

  it("no Authorization header → 401 UNAUTHORIZED with a bare challenge", async () => {
    for (const authorization of [undefined, "", []]) {
      const r = await w.auth.authenticate(get(authorization as string | undefined));
      expectFailure(r, 401, "UNAUTHORIZED", "Invalid or missing API key", { "WWW-Authenticate": challenge });
      expect(!r.ok && r.reason).toBe("missing");
    }
  });

  it("another scheme → 401 UNAUTHORIZED with a bare challenge", async () => {
    for (const authorization of [`Basic dXNlcjpwYXNz`, `Token ${w.keys.prod}`, w.keys.prod, `Bearerx ${w.keys.prod}`]) {
      const r = await w.auth.authenticate(get(authorization));
      expectFailure(r, 401, "UNAUTHORIZED", "Invalid or missing API key", { "WWW-Authenticate": challenge });
      expect(!r.ok && r.reason).toBe("scheme");
    }
  });

  it("malformed header → 401 with error=\"invalid_request\"", async () => {
    const k = w.keys.prod;
    for (const authorization of [`Bearer\t${k}`, `Bearer\u00a0${k}`, `Bearer ${k} extra`, "Bearer", "Bearer ", "bearer    ", [`Bearer ${k}`, `Bearer ${k}`]]) {
      const r = await w.auth.authenticate(get(authorization));
      expectFailure(r, 401, "UNAUTHORIZED", "Invalid or missing API key", { "WWW-Authenticate": `${challenge}, error="invalid_request"` });
      expect(!r.ok && r.reason).toBe("malformed");
    }
  });

  it.each([
    ["bad format", (k: Record<string, string>) => `flz_sk_prod_${"a".repeat(31)}`, "format"],
    ["bad checksum", (k: Record<string, string>) => `${k.prod!.slice(0, -1)}${k.prod!.endsWith("A") ? "B" : "A"}`, "checksum"],
    ["unknown", (k: Record<string, string>) => k.unknown!, "unknown"],
    ["revoked", (k: Record<string, string>) => k.revoked!, "revoked"],
  ])("%s key → 401 with error=\"invalid_token\"", async (_name, pick, reason) => {
    const r = await w.auth.authenticate(get(`Bearer ${pick(w.keys)}`));
    expectFailure(r, 401, "UNAUTHORIZED", "Invalid or missing API key", { "WWW-Authenticate": `${challenge}, error="invalid_token"` });
    expect(!r.ok && r.reason).toBe(reason);
  });

  it("a token that spells a failure's name is still just a bad key, never that failure", async () => {
    for (const token of ["missing", "scheme", "malformed", "MISSING"]) {
      const r = await w.auth.authenticate(get(`Bearer ${token}`));
      expectFailure(r, 401, "UNAUTHORIZED", "Invalid or missing API key", { "WWW-Authenticate": `${challenge}, error="invalid_token"` });
      expect(!r.ok && r.reason).toBe("format");
    }
  });

  it("account's plan has no API access → 403 FORBIDDEN \"API access requires Pro plan\", no challenge", async () => {
    const r = await w.auth.authenticate(get(`Bearer ${w.keys.starter}`));
    expectFailure(r, 403, "FORBIDDEN", "API access requires Pro plan", {});
    expect(!r.ok && r.reason).toBe("plan");
  });

  it("key lacks the permission (read-only key, unsafe method) → 403 with error=\"insufficient_scope\"", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "get"]) {
      const r = await w.auth.authenticate(get(`Bearer ${w.keys.dev}`, method));
      expectFailure(r, 403, "FORBIDDEN", "API key does not have the required permissions", {
        "WWW-Authenticate": `${challenge}, error="insufficient_scope"`,
      });
      expect(!r.ok && r.reason).toBe("permission");
    }
  });

  it("read-only keys pass GET, HEAD and OPTIONS", async () => {
    for (const method of ["GET", "HEAD", "OPTIONS"]) {
      const r = await w.auth.authenticate(get(`Bearer ${w.keys.dev}`, method));
      expect(r.ok).toBe(true);
    }
  });

  it("the store fails → 503 SERVICE_UNAVAILABLE with Retry-After and no challenge", async () => {
    const store = new MemoryKeyStore();
    store.getByHash = async () => {
      throw new Error("connection refused");
    };
    const auth = createApiKeyAuth({ store });
    const r = await auth.authenticate(get(`Bearer ${w.keys.prod}`));
    expectFailure(r, 503, "SERVICE_UNAVAILABLE", "Authentication is temporarily unavailable", { "Retry-After": "1" });
    expect(!r.ok && r.reason).toBe("unavailable");
  });
});

describe("expiry, environment, accounts", async () => {
  it("an expired key → 401 invalid_token; before expiry it works", async () => {
    const w = await makeWorld();
    expect((await w.auth.authenticate(get(`Bearer ${w.keys.expiring}`))).ok).toBe(true);
    w.clock.advance(60_000);
    const r = await w.auth.authenticate(get(`Bearer ${w.keys.expiring}`));
    expectFailure(r, 401, "UNAUTHORIZED", "Invalid or missing API key", { "WWW-Authenticate": `${challenge}, error="invalid_token"` });
    expect(!r.ok && r.reason).toBe("expired");
  });

  it("a server configured with an environment refuses keys of another environment or none", async () => {
    const w = await makeWorld({ environment: "prod" });
    expect((await w.auth.authenticate(get(`Bearer ${w.keys.prod}`))).ok).toBe(true);
    for (const k of [w.keys.stag, w.keys.dev, w.keys.untagged]) {
      const r = await w.auth.authenticate(get(`Bearer ${k}`));
      expectFailure(r, 401, "UNAUTHORIZED", "Invalid or missing API key", { "WWW-Authenticate": `${challenge}, error="invalid_token"` });
      expect(!r.ok && r.reason).toBe("environment");
    }
  });

  it("without a configured environment every tag is accepted", async () => {
    const w = await makeWorld();
    for (const k of [w.keys.prod, w.keys.stag, w.keys.untagged]) expect((await w.auth.authenticate(get(`Bearer ${k}`))).ok).toBe(true);
  });

  it("a key whose account is unknown (getPlan → null) → 401 invalid_token", async () => {
    const w = await makeWorld();
    const r = await w.auth.authenticate(get(`Bearer ${w.keys.orphan}`));
    expectFailure(r, 401, "UNAUTHORIZED", "Invalid or missing API key", { "WWW-Authenticate": `${challenge}, error="invalid_token"` });
    expect(!r.ok && r.reason).toBe("account");
  });

  it("apiPlans and planName configure plan gating and the 403 message", async () => {
    const w = await makeWorld({ apiPlans: ["starter", "pro"] });
    expect((await w.auth.authenticate(get(`Bearer ${w.keys.starter}`))).ok).toBe(true);
    const w2 = await makeWorld({ apiPlans: ["business"], planName: "Business" });
    const r = await w2.auth.authenticate(get(`Bearer ${w2.keys.prod}`));
    expect(!r.ok && r.body.error.message).toBe("API access requires Business plan");
    const w3 = await makeWorld({ apiPlans: ["enterprise"] });
    const r3 = await w3.auth.authenticate(get(`Bearer ${w3.keys.prod}`));
    expect(!r3.ok && r3.body.error.message).toBe("API access requires Enterprise plan");
  });

  it("an async plan lookup works", async () => {
    const w = await makeWorld({ accounts: { getPlan: async () => "pro" } });
    expect((await w.auth.authenticate(get(`Bearer ${w.keys.starter}`))).ok).toBe(true);
  });

  it("the realm is configurable", async () => {
    const w = await makeWorld({ realm: "fluenzr" });
    const r = await w.auth.authenticate(get(undefined));
    expect(!r.ok && r.headers).toEqual({ "WWW-Authenticate": 'Bearer realm="fluenzr"' });
  });

  it("a key in a custom format is read with that format", async () => {
    const w = await makeWorld();
    const r = await w.auth.authenticate(get(`Bearer acme_sk_${"a".repeat(32)}`));
    expect(!r.ok && r.reason).toBe("format");
  });
});

describe("the client learns nothing about which 401 it hit", async () => {
  it("every 401 body is byte-identical", async () => {
    const w = await makeWorld();
    const inputs = [undefined, "Basic x", "Bearer", `Bearer ${w.keys.unknown}`, `Bearer ${w.keys.revoked}`, `Bearer ${w.keys.orphan}`, "Bearer flz_sk_x"];
    for (const authorization of inputs) {
      const r = await w.auth.authenticate(get(authorization));
      expect(r.ok).toBe(false);
      expect(!r.ok && JSON.stringify(r.body)).toBe(JSON.stringify(UNAUTHORIZED));
    }
  });
});

describe("options are checked at setup (bad ones throw naming the option)", () => {
  const store = new MemoryKeyStore();
  it.each([
    [{}, "store"],
    [{ store: {} }, "store"],
    [{ store, accounts: {} }, "accounts"],
    [{ store, apiPlans: [] }, "apiPlans"],
    [{ store, environment: "qa" }, "environment"],
    [{ store, realm: 'a"b' }, "realm"],
    [{ store, realm: "" }, "realm"],
    [{ store, timeouts: -1 }, "timeouts"],
    [{ store, timeouts: { storeMs: 0 } }, "timeouts.storeMs"],
    [{ store, timeouts: { storeMs: "x" } }, "timeouts.storeMs"],
    [{ store, timeouts: { storeMs: 1.5 } }, "timeouts.storeMs"],
    [{ store, timeouts: { accountsMs: "x" } }, "timeouts.accountsMs"],
    [{ store, lastUsedIntervalMs: "60s" }, "lastUsedIntervalMs"],
    [{ store, onEvent: "log" }, "onEvent"],
    [{ store, pepper: "" }, "pepper"],
    [{ store, format: { prefix: "flz" } }, "format"],
    [{ store, clock: Date }, "clock"],
    [{ store, relm: "api" }, "relm"],
  ])("%j → INVALID_OPTIONS naming %s", (options, name) => {
    expect(() => createApiKeyAuth(options as never)).toThrowError(new RegExp(`"${name.replace(".", "\\.")}"`));
  });

  it("a missing options object throws", () => {
    expect(() => createApiKeyAuth(undefined as never)).toThrowError(/options/);
  });

  it("an unknown option is named with the options it could have meant", () => {
    expect(() => createApiKeyAuth({ store, relm: "api" } as never)).toThrowError(
      /^createApiKeyAuth: invalid option "relm": unknown option \(expected store, accounts, .*\brealm\b.*\)$/,
    );
    expect(() => createApiKeyAuth({ store, cache: { ttlMs: 1000, max: 10, ttl: 5 } } as never)).toThrowError(
      'createApiKeyAuth: invalid option "cache.ttl": unknown option (expected ttlMs, max, maxStalenessMs, negativeTtlMs)',
    );
  });
});

describe("peppers: HMAC lookups and pepper rotation", () => {
  it("a key stored under an older pepper still works when the list names it", async () => {
    const { generateApiKey, hashApiKey } = await import("../../src/index.js");
    const { makeTestRecord } = await import("../../src/testing/index.js");
    const store = new MemoryKeyStore();
    const old = { version: "1", secret: "old-pepper-secret" };
    const current = { version: "2", secret: "new-pepper-secret" };
    const a = generateApiKey({ environment: "prod" });
    const b = generateApiKey({ environment: "prod" });
    await store.insert(makeTestRecord({ accountId: "acc", hash: hashApiKey(a.key, { pepper: old }), hint: a.hint }));
    await store.insert(makeTestRecord({ accountId: "acc", hash: hashApiKey(b.key, { pepper: current }), hint: b.hint }));
    const rotated = createApiKeyAuth({ store, pepper: [current, old] });
    expect((await rotated.authenticate(get(`Bearer ${a.key}`))).ok).toBe(true);
    expect((await rotated.authenticate(get(`Bearer ${b.key}`))).ok).toBe(true);
    const onlyCurrent = createApiKeyAuth({ store, pepper: current });
    expect((await onlyCurrent.authenticate(get(`Bearer ${a.key}`))).ok).toBe(false);
    const unpeppered = createApiKeyAuth({ store });
    expect((await unpeppered.authenticate(get(`Bearer ${b.key}`))).ok).toBe(false);
  });
});

describe("results are frozen so one request cannot change another's answer", () => {
  it("failure results cannot be mutated", async () => {
    const w = await makeWorld();
    const r = await w.auth.authenticate(get(undefined));
    expect(Object.isFrozen(r)).toBe(true);
    expect(!r.ok && Object.isFrozen(r.headers)).toBe(true);
    expect(!r.ok && Object.isFrozen(r.body.error)).toBe(true);
  });
});

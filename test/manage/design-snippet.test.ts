// DESIGN §10 ("names and shapes here are the contract"): the key-management lines of the snippet,
// run literally and in order — create, list, revoke, rotate, unused — with each result's shape.
import { describe, expect, it } from "vitest";
import { createApiKeyAuth, createKeyManager, isApiKeyError, MemoryKeyStore, parseApiKey } from "../../src/index.js";

const KEY = /^flz_sk_prod_[A-Za-z0-9]{32}$/;
const ID = /^key_[A-Za-z0-9]{24}$/;
const ROW_KEYS = [
  "createdAt",
  "createdBy",
  "environment",
  "expiresAt",
  "hint",
  "id",
  "lastUsedAt",
  "name",
  "permissions",
  "revokedAt",
  "rotatedFromId",
  "status",
];

describe("DESIGN §10 snippet, in order", () => {
  it("create, list, revoke, rotate, unused all resolve with the documented shapes", async () => {
    const store = new MemoryKeyStore();
    // plan lookup for the account that owns a key; sync or async; null = unknown account
    const accounts = { getPlan: (_accountId: string) => "pro" /* | "starter" | "free" | null */ };

    const manager = createKeyManager({ store, accounts }); // apiPlans defaults to ["pro"]
    const actor = { id: "usr_1", admin: true };
    const { key, record } = await manager.create({
      accountId: "acc_1", actor, name: "Production",
      environment: "prod",          // optional: a tag of the format's set
      permissions: "all",           // or "read-only"
      expiresAt: undefined,         // optional Date in the future
    });
    const listed = await manager.list({ accountId: "acc_1" }); // rows: id, name, hint, environment,
                                                               // permissions, createdAt, lastUsedAt, status
    const revoked = await manager.revoke({ accountId: "acc_1", actor, id: record.id });
    const rotated = await manager.rotate({ accountId: "acc_1", actor, id: record.id, gracePeriodMs: 0 }); // -> { key, record }
    const unused = await manager.unused({ accountId: "acc_1", since: new Date(Date.now() - 90 * 864e5) });

    // create -> { key, record }: the plaintext once, the stored record.
    expect(key).toMatch(KEY);
    expect(parseApiKey(key)).toMatchObject({ ok: true, environment: "prod" });
    expect(record).toMatchObject({
      id: expect.stringMatching(ID),
      accountId: "acc_1",
      name: "Production",
      hint: `flz_sk_prod_…${key.slice(-4)}`,
      environment: "prod",
      permissions: "all",
      createdBy: "usr_1",
      lastUsedAt: null,
      revokedAt: null,
      expiresAt: null,
      rotatedFromId: null,
    });
    expect(record.createdAt).toBeInstanceOf(Date);

    // list -> rows: id, name, hint, environment, permissions, createdAt, lastUsedAt, status.
    expect(listed).toHaveLength(1);
    expect(Object.keys(listed[0]!).sort()).toEqual(ROW_KEYS);
    expect(listed[0]).toMatchObject({
      id: record.id,
      name: "Production",
      hint: record.hint,
      environment: "prod",
      permissions: "all",
      createdAt: record.createdAt,
      lastUsedAt: null,
      status: "active",
    });

    // revoke -> the key's row, revoked now.
    expect(Object.keys(revoked).sort()).toEqual(ROW_KEYS);
    expect(revoked).toMatchObject({ id: record.id, status: "revoked", revokedAt: expect.any(Date) });

    // rotate -> { key, record } (plus the old key's row and when it stopped).
    expect(rotated.key).toMatch(KEY);
    expect(rotated.key).not.toBe(key);
    expect(rotated.record).toMatchObject({
      id: expect.stringMatching(ID),
      accountId: "acc_1",
      name: "Production",
      environment: "prod",
      permissions: "all",
      createdBy: "usr_1",
      revokedAt: null,
      expiresAt: null,
      rotatedFromId: record.id,
    });
    expect(rotated.previous).toMatchObject({ id: record.id, status: "revoked", revokedAt: revoked.revokedAt });
    // The old key was revoked already: no grace, graceEndsAt is its revocation time, unmoved.
    expect(rotated.graceEndsAt).toEqual(revoked.revokedAt);

    // unused -> rows of working keys not used since the date: the new key only.
    expect(unused.map((r) => [r.id, r.status, r.lastUsedAt])).toEqual([[rotated.record.id, "active", null]]);
    expect(Object.keys(unused[0]!).sort()).toEqual(ROW_KEYS);

    // And the authenticator of the same snippet agrees.
    const auth = createApiKeyAuth({ store, accounts });
    const old = await auth.authenticate({ authorization: "Bearer " + key, method: "GET", ip: "203.0.113.9", userAgent: "curl/8", path: "/v1/contacts" });
    expect(old).toMatchObject({ ok: false, status: 401, reason: "revoked" });
    const fresh = await auth.authenticate({ authorization: "Bearer " + rotated.key, method: "GET", ip: "203.0.113.9", userAgent: "curl/8", path: "/v1/contacts" });
    expect(fresh).toMatchObject({ ok: true, key: { id: rotated.record.id, accountId: "acc_1", name: "Production", environment: "prod", permissions: "all" } });
    await auth.close();
  });

  it("management failures reject with an ApiKeyError that carries status, code and the envelope body", async () => {
    const manager = createKeyManager({ store: new MemoryKeyStore(), accounts: { getPlan: () => "pro" } });
    const cases: [Promise<unknown>, number, string][] = [
      [manager.create({ accountId: "acc_1", actor: { id: "usr_2", admin: false }, name: "" }), 403, "FORBIDDEN"],
      [manager.create({ accountId: "acc_1", actor: { id: "usr_1", admin: true }, name: "" }), 400, "VALIDATION_ERROR"],
      [manager.revoke({ accountId: "acc_1", actor: { id: "usr_1", admin: true }, id: "key_missing" }), 404, "NOT_FOUND"],
    ];
    for (const [promise, status, code] of cases) {
      const error = await promise.catch((e: unknown) => e);
      expect(isApiKeyError(error)).toBe(true);
      if (!isApiKeyError(error)) continue;
      expect([error.status, error.code]).toEqual([status, code]);
      expect(error.body).toEqual({ success: false, error: { code, message: error.message } });
    }
  });
});

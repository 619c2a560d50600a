import { describe, expect, it } from "vitest";
import {
  createApiKeyAuth,
  createKeyManager,
  hashApiKey,
  isApiKeyError,
  MemoryKeyStore,
  parseApiKey,
  type ApiKeyError,
} from "../../src/index.js";
import { createFakeClock, createSeededRandom } from "../../src/testing/index.js";
import { rejection } from "./helpers/rejection.js";
import { makeTestRecord } from "../../src/testing/index.js";

const makeRecordWith = (metadata: Record<string, unknown>) => makeTestRecord({ metadata });

const accounts = { getPlan: (id: string) => ({ acc_1: "pro", acc_2: "pro", acc_starter: "starter", acc_free: "free" })[id] ?? null };
const admin = { id: "usr_admin", admin: true };
const member = { id: "usr_member", admin: false };

function setup() {
  const store = new MemoryKeyStore();
  const clock = createFakeClock(Date.UTC(2025, 0, 1));
  const manager = createKeyManager({ store, accounts, clock });
  return { store, clock, manager };
}

describe("createKeyManager().create (spec: Get an API key)", () => {
  it("returns the plaintext key once with the stored record, which holds only its hash", async () => {
    const { store, manager, clock } = setup();
    const { key, record } = await manager.create({ accountId: "acc_1", actor: admin, name: "  Production  ", environment: "prod" });
    expect(parseApiKey(key)).toMatchObject({ ok: true, environment: "prod" });
    expect(record).toMatchObject({
      accountId: "acc_1",
      name: "Production",
      hash: hashApiKey(key),
      hint: `flz_sk_prod_…${key.slice(-4)}`,
      environment: "prod",
      permissions: "all",
      createdBy: "usr_admin",
      lastUsedAt: null,
      revokedAt: null,
      expiresAt: null,
    });
    expect(record.createdAt.getTime()).toBe(clock.now());
    expect(record.id).toMatch(/^key_[A-Za-z0-9]{24}$/);
    const stored = await store.getById(record.id);
    expect(JSON.stringify(stored)).not.toContain(key.slice(12));
    expect(JSON.stringify(await manager.list({ accountId: "acc_1" }))).not.toContain(key.slice(12));
  });

  it("the new key authenticates at once", async () => {
    const { store, manager } = setup();
    const { key } = await manager.create({ accountId: "acc_1", actor: admin, name: "CI" });
    const auth = createApiKeyAuth({ store, accounts });
    expect(await auth.authenticate({ authorization: `Bearer ${key}`, method: "POST" })).toMatchObject({ ok: true, key: { accountId: "acc_1" } });
  });

  it("needs an administrator: else 403 FORBIDDEN \"Administrator rights required\"", async () => {
    const { manager } = setup();
    for (const actor of [member, undefined, null, { id: "x" }, { id: "x", admin: "yes" }]) {
      const e = await rejection(manager.create({ accountId: "acc_1", actor: actor as never, name: "CI" }));
      expect([e.status, e.code, e.body]).toEqual([403, "FORBIDDEN", { success: false, error: { code: "FORBIDDEN", message: "Administrator rights required" } }]);
    }
  });

  it("checks the administrator first: a non-administrator gets 403 whatever else is wrong (docs: administrator, plan, fields)", async () => {
    const { manager, store } = setup();
    for (const actor of [member, undefined, { id: "x" }]) {
      for (const patch of [
        { accountId: "" },
        { accountId: undefined },
        { accountId: 42 },
        { accountId: "x".repeat(201) },
        { accountId: "acc_starter" },
        { accountId: "acc_nobody" },
        { name: "" },
        { name: 42 },
        { environment: "qa" },
        { permissions: "admin" },
        { expiresAt: "not a date" },
        { metadata: [1] },
      ]) {
        const e = await rejection(manager.create({ accountId: "acc_1", actor: actor as never, name: "CI", ...(patch as object) }));
        expect([e.status, e.code, e.message], JSON.stringify(patch)).toEqual([403, "FORBIDDEN", "Administrator rights required"]);
      }
    }
    expect(store.size).toBe(0);
  });

  it("then the account id (400), then the plan (403/404), then the other fields (400)", async () => {
    const { manager } = setup();
    const badAccount = await rejection(manager.create({ accountId: "", actor: admin, name: "" }));
    expect([badAccount.status, badAccount.field]).toEqual([400, "accountId"]);
    const starter = await rejection(manager.create({ accountId: "acc_starter", actor: admin, name: "" }));
    expect([starter.status, starter.message]).toEqual([403, "API access requires Pro plan"]);
    const unknown = await rejection(manager.create({ accountId: "acc_nobody", actor: admin, name: "" }));
    expect(unknown.status).toBe(404);
    const badName = await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "" }));
    expect([badName.status, badName.field]).toEqual([400, "name"]);
  });

  it("a missing input object is 400 naming input (there is no actor to check)", async () => {
    const { manager } = setup();
    const e = await rejection(manager.create(null as never));
    expect([e.status, e.code, e.field]).toEqual([400, "VALIDATION_ERROR", "input"]);
  });

  it("needs a plan with API access: else 403 FORBIDDEN \"API access requires Pro plan\"", async () => {
    const { manager } = setup();
    for (const accountId of ["acc_starter", "acc_free"]) {
      const e = await rejection(manager.create({ accountId, actor: admin, name: "CI" }));
      expect([e.status, e.code, e.message]).toEqual([403, "FORBIDDEN", "API access requires Pro plan"]);
    }
    const unknown = await rejection(manager.create({ accountId: "acc_nobody", actor: admin, name: "CI" }));
    expect([unknown.status, unknown.code]).toEqual([404, "NOT_FOUND"]);
  });

  it.each([
    ["name", { name: "" }],
    ["name", { name: "   " }],
    ["name", { name: "x".repeat(101) }],
    ["name", { name: "bad\u0000name" }],
    ["name", { name: "line\nbreak" }],
    ["name", { name: "zero\u200bwidth" }],
    ["name", { name: 42 }],
    ["environment", { environment: "qa" }],
    ["permissions", { permissions: "admin" }],
    ["expiresAt", { expiresAt: new Date(Date.UTC(2024, 0, 1)) }],
    ["expiresAt", { expiresAt: "not a date" }],
    ["metadata", { metadata: [1, 2] }],
  ])("a bad %s is 400 VALIDATION_ERROR naming the field (%j)", async (field, patch) => {
    const { manager, store } = setup();
    const e = await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "CI", ...(patch as object) }));
    expect([e.status, e.code, e.field]).toEqual([400, "VALIDATION_ERROR", field]);
    expect(e.message).toContain(field);
    expect(e.body.error.code).toBe("VALIDATION_ERROR");
    expect(store.size).toBe(0);
  });

  it("refuses a name that holds a key (it would be stored in plaintext), without echoing it", async () => {
    const { manager, store } = setup();
    const { key } = await manager.create({ accountId: "acc_1", actor: admin, name: "Production" });
    const e = await rejection(manager.create({ accountId: "acc_1", actor: admin, name: `old ${key}` }));
    expect([e.status, e.code, e.field]).toEqual([400, "VALIDATION_ERROR", "name"]);
    expect(JSON.stringify(e.body) + e.message).not.toContain(key.slice(-32));
    expect(store.size).toBe(1);
  });

  it.each([
    ["the key's body alone", (key: string) => key.slice(-32)],
    ["the body after a rewritten prefix", (key: string) => `prod_${key.slice(-32)}`],
    ["the key in capitals", (key: string) => key.toUpperCase()],
    ["the prefix in capitals", (key: string) => key.replace("flz_sk_", "FLZ_SK_")],
    ["the head escaped", (key: string) => key.replace("flz_sk_", "%66lz_sk_")],
    ["the body glued after other text", (key: string) => `token${key.slice(-32)}`],
    ["the body in capitals after a rewritten prefix", (key: string) => `FLZ-SK-${key.slice(-32).toUpperCase()}`],
    ["the body in small letters alone", (key: string) => key.slice(-32).toLowerCase()],
  ])("refuses a name, metadata, actor id or account id holding %s, without echoing it", async (_how, write) => {
    const { manager, store } = setup();
    const { key } = await manager.create({ accountId: "acc_1", actor: admin, name: "Production" });
    const text = write(key);
    const attempts = [
      ["name", manager.create({ accountId: "acc_1", actor: admin, name: text.slice(0, 100) })],
      ["metadata", manager.create({ accountId: "acc_1", actor: admin, name: "CI", metadata: { note: text } })],
      ["actor.id", manager.create({ accountId: "acc_1", actor: { id: text, admin: true }, name: "CI" })],
      ["accountId", manager.create({ accountId: text, actor: admin, name: "CI" })],
    ] as const;
    for (const [field, attempt] of attempts) {
      const e = await rejection(attempt);
      expect([e.status, e.code, e.field]).toEqual([400, "VALIDATION_ERROR", field]);
      expect(e.message).toContain("must not contain an API key");
      expect(JSON.stringify(e.body) + e.message).not.toContain(key.slice(-32));
    }
    expect(store.size).toBe(1);
  });

  it("refuses metadata nested more than 32 deep (Redis's scripts could not read it; the same on every store)", async () => {
    const { manager, store } = setup();
    const nest = (depth: number): Record<string, unknown> => (depth <= 1 ? { leaf: true } : { a: nest(depth - 1) });
    await manager.create({ accountId: "acc_1", actor: admin, name: "Deep enough", metadata: nest(32) });
    const e = await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "Too deep", metadata: nest(33) }));
    expect([e.status, e.field, e.message]).toEqual([400, "metadata", "Invalid metadata: must not nest objects and arrays more than 32 deep"]);
    expect(store.size).toBe(1);
    const direct = await store.insert(makeRecordWith(nest(1100))).catch((error: unknown) => error);
    expect(isApiKeyError(direct) && direct.code).toBe("INVALID_INPUT");
  });

  it("a clock that stops giving a time later makes list and unused fail with 503, never list an expired key as active", async () => {
    let broken = false;
    const base = createFakeClock(Date.UTC(2025, 0, 1));
    const clock = { now: () => (broken ? (undefined as unknown as number) : base.now()) };
    const store = new MemoryKeyStore();
    const manager = createKeyManager({ store, accounts, clock });
    await manager.create({ accountId: "acc_1", actor: admin, name: "Short", expiresAt: new Date(base.now() + 1_000) });
    base.advance(2_000);
    expect((await manager.list({ accountId: "acc_1" })).map((r) => r.status)).toEqual(["expired"]);
    broken = true;
    for (const call of [manager.list({ accountId: "acc_1" }), manager.unused({ accountId: "acc_1" })]) {
      const e = await rejection(call);
      expect([e.status, e.code]).toEqual([503, "SERVICE_UNAVAILABLE"]);
    }
  });

  it.each([{ id: "acc_1", plan: "pro" }, 5])("a plan lookup that answers something not a plan (%j) is a 503, not 'requires Pro plan'", async (answer) => {
    const manager = createKeyManager({ store: new MemoryKeyStore(), accounts: { getPlan: () => answer as unknown as string } });
    const e = await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "CI" }));
    expect([e.status, e.code]).toEqual([503, "SERVICE_UNAVAILABLE"]);
  });

  it("keeps names and metadata with long ids or hashes that are no key", async () => {
    const { manager } = setup();
    const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const created = await manager.create({ accountId: "acc_1", actor: admin, name: `build ${sha.slice(0, 40)}`, metadata: { sha, run: "a".repeat(40) } });
    expect(created.record.metadata).toEqual({ sha, run: "a".repeat(40) });
  });

  it.each([
    ["a value", (key: string) => ({ previous: key })],
    ["a nested value", (key: string) => ({ deploy: { targets: ["ci", `token=${key}`] } })],
    ["a property name", (key: string) => ({ [key]: true })],
  ])("refuses metadata that holds a key in %s (it would be stored in plaintext), without echoing it", async (_where, metadata) => {
    const { manager, store } = setup();
    const { key } = await manager.create({ accountId: "acc_1", actor: admin, name: "Production" });
    const e = await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "CI", metadata: metadata(key) }));
    expect([e.status, e.code, e.field]).toEqual([400, "VALIDATION_ERROR", "metadata"]);
    expect(e.message).toContain("must not contain an API key");
    expect(JSON.stringify(e.body) + e.message).not.toContain(key.slice(-32));
    expect(store.size).toBe(1);
    // Metadata without a key is kept as given.
    const ok = await manager.create({ accountId: "acc_1", actor: admin, name: "CI", metadata: { team: "data", sk: "flz" } });
    expect(ok.record.metadata).toEqual({ team: "data", sk: "flz" });
  });

  it("refuses a huge name or metadata before working through it (input capped first)", async () => {
    const { manager, store } = setup();
    // 20 M spaces and one letter: trimmed it would be a fine name, but it is refused by length first.
    const name = await rejection(manager.create({ accountId: "acc_1", actor: admin, name: " ".repeat(20_000_000) + "x" }));
    expect([name.status, name.field]).toEqual([400, "name"]);
    const metadata: Record<string, number> = {};
    for (let i = 0; i < 1_000_000; i++) metadata[`k${i}`] = i;
    const meta = await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "CI", metadata }));
    expect([meta.status, meta.field, meta.message]).toEqual([400, "metadata", "Invalid metadata: must be at most 10000 characters as JSON"]);
    // A cycle is refused as too large too, rather than looping.
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic["self"] = cyclic;
    expect((await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "CI", metadata: cyclic }))).field).toBe("metadata");
    // Properties JSON leaves out do not count: a large object of undefined values is small JSON.
    const sparse: Record<string, unknown> = { team: "data" };
    for (let i = 0; i < 5_000; i++) sparse[`unused_${i}`] = undefined;
    expect((await manager.create({ accountId: "acc_1", actor: admin, name: "CI", metadata: sparse })).record.metadata).toEqual({ team: "data" });
    expect(store.size).toBe(1);
  });

  it("accepts 100 printable characters, Unicode names, read-only keys and a future expiry", async () => {
    const { manager, clock } = setup();
    const a = await manager.create({ accountId: "acc_1", actor: admin, name: "x".repeat(100) });
    expect(a.record.name).toHaveLength(100);
    const b = await manager.create({ accountId: "acc_1", actor: admin, name: "Équipe données – 東京", permissions: "read-only", environment: "dev" });
    expect(b.record).toMatchObject({ permissions: "read-only", environment: "dev" });
    const expiry = new Date(clock.now() + 86_400_000);
    const c = await manager.create({ accountId: "acc_1", actor: admin, name: "Temp", expiresAt: expiry });
    expect(c.record.expiresAt?.getTime()).toBe(expiry.getTime());
  });

  it("does not keep a reference to the caller's input", async () => {
    const { manager } = setup();
    const input = { accountId: "acc_1", actor: admin, name: "CI", metadata: { team: "a" } };
    const { record } = await manager.create(input);
    input.metadata.team = "b";
    expect((await manager.list({ accountId: "acc_1" }))[0]?.id).toBe(record.id);
    expect(record.metadata).toEqual({ team: "a" });
  });

  it("generates keys from the injected random source (deterministic in tests)", async () => {
    const a = createKeyManager({ store: new MemoryKeyStore(), accounts, random: createSeededRandom(1) });
    const b = createKeyManager({ store: new MemoryKeyStore(), accounts, random: createSeededRandom(1) });
    const ka = await a.create({ accountId: "acc_1", actor: admin, name: "x" });
    const kb = await b.create({ accountId: "acc_1", actor: admin, name: "x" });
    expect(ka.key).toBe(kb.key);
    expect(ka.record.id).toBe(kb.record.id);
  });
});

describe("createKeyManager().list (spec: View existing keys)", () => {
  it("gives name, created, last used, id, hint, environment, permissions and status, oldest first", async () => {
    const { manager, clock, store } = setup();
    const first = await manager.create({ accountId: "acc_1", actor: admin, name: "Production", environment: "prod" });
    clock.advance(1_000);
    const second = await manager.create({ accountId: "acc_1", actor: admin, name: "Dev/Test", environment: "dev", permissions: "read-only", expiresAt: new Date(clock.now() + 5_000) });
    clock.advance(1_000);
    const third = await manager.create({ accountId: "acc_1", actor: admin, name: "Old" });
    await manager.create({ accountId: "acc_2", actor: admin, name: "Other account" });
    await store.recordUsage([{ id: first.record.id, lastUsedAt: new Date(clock.now()) }]);
    await manager.revoke({ accountId: "acc_1", actor: admin, id: third.record.id });
    clock.advance(10_000);
    const rows = await manager.list({ accountId: "acc_1" });
    expect(rows.map((r) => [r.name, r.status])).toEqual([
      ["Production", "active"],
      ["Dev/Test", "expired"],
      ["Old", "revoked"],
    ]);
    expect(rows[0]).toEqual({
      id: first.record.id,
      name: "Production",
      hint: first.record.hint,
      environment: "prod",
      permissions: "all",
      createdAt: first.record.createdAt,
      createdBy: "usr_admin",
      lastUsedAt: new Date(clock.now() - 10_000),
      expiresAt: null,
      revokedAt: null,
      rotatedFromId: null,
      status: "active",
    });
    expect(rows[1]?.id).toBe(second.record.id);
    expect(Object.keys(rows[0] ?? {})).not.toContain("hash");
  });

  it("an account without keys lists nothing; a bad account id is 400", async () => {
    const { manager } = setup();
    expect(await manager.list({ accountId: "acc_1" })).toEqual([]);
    const e = await rejection(manager.list({ accountId: "" }));
    expect([e.status, e.field]).toEqual([400, "accountId"]);
  });
});

describe("createKeyManager().revoke (spec: Revoke a key — immediate and irreversible)", () => {
  it("is immediate for every authenticator in the process", async () => {
    const { manager, store } = setup();
    const { key, record } = await manager.create({ accountId: "acc_1", actor: admin, name: "Production" });
    const auths = [createApiKeyAuth({ store }), createApiKeyAuth({ store, accounts })];
    for (const auth of auths) expect((await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
    const row = await manager.revoke({ accountId: "acc_1", actor: admin, id: record.id });
    expect(row.status).toBe("revoked");
    for (const auth of auths) {
      expect(await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).toMatchObject({ ok: false, status: 401, reason: "revoked" });
    }
  });

  it("is idempotent and irreversible: a second revoke keeps the first time", async () => {
    const { manager, clock } = setup();
    const { record } = await manager.create({ accountId: "acc_1", actor: admin, name: "Production" });
    const first = await manager.revoke({ accountId: "acc_1", actor: admin, id: record.id });
    clock.advance(60_000);
    const second = await manager.revoke({ accountId: "acc_1", actor: admin, id: record.id });
    expect(second.revokedAt?.getTime()).toBe(first.revokedAt?.getTime());
    expect(second.status).toBe("revoked");
  });

  it("is administrator-only", async () => {
    const { manager, store } = setup();
    const { record } = await manager.create({ accountId: "acc_1", actor: admin, name: "Production" });
    const e = await rejection(manager.revoke({ accountId: "acc_1", actor: member, id: record.id }));
    expect([e.status, e.code, e.message]).toEqual([403, "FORBIDDEN", "Administrator rights required"]);
    expect((await store.getById(record.id))?.revokedAt).toBeNull();
  });

  it("checks the administrator before the account id and the key id", async () => {
    const { manager, store } = setup();
    const { record } = await manager.create({ accountId: "acc_1", actor: admin, name: "Production" });
    for (const patch of [{ accountId: "" }, { accountId: 7 }, { id: "" }, { id: 42 }, { id: "key_nope" }, { accountId: "acc_2" }]) {
      const e = await rejection(manager.revoke({ accountId: "acc_1", actor: member, id: record.id, ...(patch as object) } as never));
      expect([e.status, e.code, e.message], JSON.stringify(patch)).toEqual([403, "FORBIDDEN", "Administrator rights required"]);
    }
    const badAccount = await rejection(manager.revoke({ accountId: "", actor: admin, id: "" }));
    expect([badAccount.status, badAccount.field]).toEqual([400, "accountId"]);
    const badId = await rejection(manager.revoke({ accountId: "acc_1", actor: admin, id: "" }));
    expect([badId.status, badId.field]).toEqual([400, "id"]);
    expect((await store.getById(record.id))?.revokedAt).toBeNull();
  });

  it("a key of another account is 404 NOT_FOUND, and stays active", async () => {
    const { manager, store } = setup();
    const { record } = await manager.create({ accountId: "acc_2", actor: admin, name: "Theirs" });
    const e = await rejection(manager.revoke({ accountId: "acc_1", actor: admin, id: record.id }));
    expect([e.status, e.code, e.body]).toEqual([404, "NOT_FOUND", { success: false, error: { code: "NOT_FOUND", message: "API key not found" } }]);
    expect((await store.getById(record.id))?.revokedAt).toBeNull();
    const missing = await rejection(manager.revoke({ accountId: "acc_1", actor: admin, id: "key_nope" }));
    expect(missing.status).toBe(404);
  });
});

describe("createKeyManager options", () => {
  it.each([
    [{}, "store"],
    [{ store: new MemoryKeyStore(), apiPlans: [] }, "apiPlans"],
    [{ store: new MemoryKeyStore(), random: 4 }, "random"],
    [{ store: new MemoryKeyStore(), pepper: [] }, "pepper"],
  ])("%j throws INVALID_OPTIONS naming %s", (options, name) => {
    expect(() => createKeyManager(options as never)).toThrowError(new RegExp(`"${name}"`));
  });

  it("hashes new keys with the current pepper, as the authenticator expects", async () => {
    const store = new MemoryKeyStore();
    const pepper = [{ version: "2", secret: "current" }, { version: "1", secret: "old" }];
    const manager = createKeyManager({ store, pepper });
    const { key, record } = await manager.create({ accountId: "acc_1", actor: admin, name: "CI" });
    expect(record.hash).toBe(hashApiKey(key, { pepper: pepper[0] }));
    expect((await createApiKeyAuth({ store, pepper }).authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
  });
});

describe("manager input: unknown fields and keys in stored ids", () => {
  it("a misspelt field is refused (400 naming it), not dropped for a default: create, rotate, revoke, list, unused, rotationStatus", async () => {
    const { manager } = setup();
    const typo = await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "Dev", permission: "read-only" } as never));
    expect([typo.status, typo.code, typo.field]).toEqual([400, "VALIDATION_ERROR", "permission"]);
    expect(typo.message).toBe("Invalid permission: unknown field, expected one of accountId, actor, name, environment, permissions, expiresAt, metadata");
    expect(await manager.list({ accountId: "acc_1" })).toEqual([]); // nothing made
    const { record } = await manager.create({ accountId: "acc_1", actor: admin, name: "Prod" });
    const grace = await rejection(manager.rotate({ accountId: "acc_1", actor: admin, id: record.id, gracePeriod: 3_600_000 } as never));
    expect(grace.field).toBe("gracePeriod");
    expect((await manager.list({ accountId: "acc_1" })).map((k) => k.status)).toEqual(["active"]); // not rotated with grace 0
    expect((await rejection(manager.revoke({ accountId: "acc_1", actor: admin, id: record.id, reason: "leak" } as never))).field).toBe("reason");
    expect((await rejection(manager.list({ accountId: "acc_1", status: "active" } as never))).field).toBe("status");
    expect((await rejection(manager.unused({ accountId: "acc_1", before: new Date() } as never))).field).toBe("before");
    expect((await rejection(manager.rotationStatus({ accountId: "acc_1", keyId: record.id } as never))).field).toBe("keyId");
    // Fields given as undefined are fields like any other (the DESIGN snippet passes expiresAt: undefined).
    await manager.create({ accountId: "acc_1", actor: admin, name: "Prod 2", expiresAt: undefined, environment: undefined });
  });

  it("checks the administrator first (403 whatever the typo), and never repeats a field name that could hold a key", async () => {
    const { manager } = setup();
    const forbidden = await rejection(manager.create({ accountId: "acc_1", actor: member, name: "Dev", permission: "read-only" } as never));
    expect(forbidden.status).toBe(403);
    const { key } = await manager.create({ accountId: "acc_1", actor: admin, name: "Prod" });
    for (const name of [key, key.slice(-32), `x_${"a".repeat(40)}`]) {
      const error = await rejection(manager.create({ accountId: "acc_1", actor: admin, name: "Dev", [name]: 1 } as never));
      expect([error.status, error.field]).toEqual([400, "input"]);
      expect(JSON.stringify([error.message, error.body])).not.toContain(key.slice(-32));
    }
  });

  it("refuses a key in actor.id or accountId, which are stored in plaintext (createdBy, accountId)", async () => {
    const { manager } = setup();
    const { key } = await manager.create({ accountId: "acc_1", actor: admin, name: "Prod" });
    const actor = await rejection(manager.create({ accountId: "acc_1", actor: { id: `usr ${key}`, admin: true }, name: "Dev" }));
    expect([actor.status, actor.field]).toEqual([400, "actor.id"]);
    const account = await rejection(manager.create({ accountId: key, actor: admin, name: "Dev" }));
    expect([account.status, account.field]).toEqual([400, "accountId"]);
    for (const e of [actor, account]) expect(JSON.stringify([e.message, e.body])).not.toContain(key.slice(-32));
    // A non-administrator still learns nothing else.
    expect((await rejection(manager.create({ accountId: key, actor: member, name: "Dev" }))).status).toBe(403);
  });
});

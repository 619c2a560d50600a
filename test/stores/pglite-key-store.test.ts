import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { isApiKeyError } from "../../src/index.js";
import { PostgresKeyStore } from "../../src/stores/postgres/index.js";
import { makeTestRecord, runKeyStoreConformance } from "../../src/testing/index.js";
import { uniqueName, waitFor } from "./helpers.js";

// PGlite needs no server: this suite always runs, and checks the same SQL the pg suite runs.
let db: PGlite;
let store: PostgresKeyStore;

beforeAll(async () => {
  db = await PGlite.create();
  store = new PostgresKeyStore({ client: db, table: uniqueName("keys") });
  await store.migrate();
});
afterAll(async () => {
  await db?.close();
});

runKeyStoreConformance("PostgresKeyStore on PGlite (in memory)", () => store, { strictInput: true, rotationRules: true });

// A session set up unlike PostgreSQL's defaults (dates in SQL style, day first; a time zone whose
// offset had seconds): times are read as milliseconds since the epoch, so the suite holds there too.
describe("PostgresKeyStore on PGlite with DateStyle SQL, DMY and TimeZone Africa/Monrovia", () => {
  let styled: PGlite;
  let styledStore: PostgresKeyStore;
  beforeAll(async () => {
    styled = await PGlite.create();
    await styled.exec("SET DateStyle TO 'SQL, DMY'; SET TimeZone TO 'Africa/Monrovia'");
    styledStore = new PostgresKeyStore({ client: styled, table: uniqueName("keys_style") });
    await styledStore.migrate();
  });
  afterAll(async () => {
    await styled?.close();
  });
  runKeyStoreConformance("PostgresKeyStore on PGlite, DateStyle SQL DMY, Monrovia", () => styledStore, { strictInput: true, rotationRules: true });
});

describe("PostgresKeyStore on PGlite", () => {
  it("migrate() is idempotent and versioned", async () => {
    const again = await store.migrate();
    expect(again.applied).toEqual([]);
    expect(again.version).toBe(2);
    const fresh = new PostgresKeyStore({ client: db, table: uniqueName("fresh") });
    expect((await fresh.migrate()).applied).toEqual([1, 2]);
    const { rows } = await db.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname",
      [fresh.channel.replace(/_revoked$/, "")],
    );
    expect(rows.map((r) => r.indexname)).toEqual([
      expect.stringMatching(/_account_idx$/),
      expect.stringMatching(/_hash_key$/),
      expect.stringMatching(/_pkey$/),
    ]);
  });

  it("a scheduled revocation is announced, and an earlier one replaces it", async () => {
    const r = makeTestRecord();
    await store.insert(r);
    const seen: string[] = [];
    const statuses: boolean[] = [];
    const stop = store.subscribeRevocations((x) => seen.push(x.hash), (up) => statuses.push(up));
    try {
      await waitFor(() => statuses.at(-1) === true, 3_000, "LISTEN");
      expect(statuses).toEqual([false, true]);
      await store.revoke(r.id, { at: new Date(Date.now() + 60_000), reason: "rotated" });
      await waitFor(() => seen.length === 1, 3_000, "first announcement");
      const now = await store.revoke(r.id);
      await waitFor(() => seen.length === 2, 3_000, "second announcement");
      // A later revoke changes nothing, so it announces nothing.
      await store.revoke(r.id, { at: new Date(Date.now() + 120_000) });
      expect((await store.getById(r.id))?.revokedAt).toEqual(now?.revokedAt);
      expect(seen).toEqual([r.hash, r.hash]);
    } finally {
      stop();
    }
  });

  it("refuses a client that is neither a Pool nor PGlite, naming the option", () => {
    const attempt = (options: unknown) => {
      try {
        new PostgresKeyStore(options as never);
      } catch (error) {
        return isApiKeyError(error) ? `${error.code} ${error.field}` : String(error);
      }
      return "accepted";
    };
    expect(attempt({ client: {} })).toBe("INVALID_OPTIONS client");
    expect(attempt({ client: db, table: "Robert'); DROP TABLE students;--" })).toBe("INVALID_OPTIONS table");
    expect(attempt({ client: db, schema: "a".repeat(41) })).toBe("INVALID_OPTIONS schema");
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 31, "2000", null, true]) {
      expect(attempt({ client: db, confirmTimeoutMs: bad })).toBe("INVALID_OPTIONS confirmTimeoutMs");
    }
    for (const good of [1, 2_000, false, undefined]) expect(attempt({ client: db, confirmTimeoutMs: good })).toBe("accepted");
    expect(attempt({ client: db, onUnconfirmed: "log" })).toBe("INVALID_OPTIONS onUnconfirmed");
  });

  it("revoke refuses an Invalid Date before any query; recordUsage skips one", async () => {
    const r = makeTestRecord();
    await store.insert(r);
    const query = vi.spyOn(db, "query");
    try {
      await expect(store.revoke(r.id, { at: new Date("garbage") })).rejects.toMatchObject({ code: "INVALID_INPUT", field: "at" });
      expect(query).not.toHaveBeenCalled();
      await store.recordUsage([{ id: r.id, lastUsedAt: new Date("garbage") }]);
      expect(query).not.toHaveBeenCalled();
    } finally {
      query.mockRestore();
    }
    const after = await store.getById(r.id);
    expect(after?.revokedAt).toBeNull();
    expect(after?.lastUsedAt).toBeNull();
  });
});

describe("openPGliteKeyStore (the embedded default)", () => {
  it("keeps keys in its data folder across a restart", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { openPGliteKeyStore } = await import("../../src/stores/postgres/index.js");
    const dir = await mkdtemp(join(tmpdir(), "fluenzr-pglite-"));
    try {
      const first = await openPGliteKeyStore({ dataDir: join(dir, "data") });
      const r = makeTestRecord();
      await first.store.insert(r);
      await first.close();
      const second = await openPGliteKeyStore({ dataDir: join(dir, "data") });
      expect((await second.store.getByHash(r.hash))?.id).toBe(r.id);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("confirmed revocation on PGlite (confirmTimeoutMs)", () => {
  /**
   * Another process, as the store sees it: present in the listeners table, and acknowledging each
   * announcement on `channel` 150 ms after it. Returns what removes it again.
   */
  async function slowListener(table: string, channel: string): Promise<() => Promise<void>> {
    await db.query(`INSERT INTO "${table}_listeners" (id, name, seen_at) VALUES ('slow', 'host-s:1', now())`);
    const unlisten = await db.listen(`"${channel}"`, (payload) => {
      const { hash } = JSON.parse(payload) as { hash: string };
      setTimeout(() => {
        void db.query("SELECT pg_notify($1, $2)", [`${channel}_ack`, JSON.stringify({ listener: "slow", hash })]);
      }, 150);
    });
    return async () => {
      await unlisten();
      await db.query(`DELETE FROM "${table}_listeners" WHERE id = 'slow'`);
    };
  }

  it("is on by default: revoke() waits for a slow process's acknowledgement", async () => {
    const table = store.channel.replace(/_revoked$/, "");
    const told: unknown[] = [];
    const confirming = new PostgresKeyStore({ client: db, table, onUnconfirmed: (e) => told.push(e) });
    const r = makeTestRecord();
    await confirming.insert(r);
    const removeSlow = await slowListener(table, confirming.channel);
    try {
      const started = Date.now();
      await confirming.revoke(r.id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(told).toEqual([]);
    } finally {
      await removeSlow();
    }
  });

  it("with no process listening, revoke() does not wait and does not LISTEN", async () => {
    const table = store.channel.replace(/_revoked$/, "");
    const confirming = new PostgresKeyStore({ client: db, table });
    const r = makeTestRecord();
    await confirming.insert(r);
    const listen = vi.spyOn(db, "listen");
    try {
      const started = Date.now();
      expect((await confirming.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
      expect(Date.now() - started).toBeLessThan(200);
      expect(listen).not.toHaveBeenCalled();
    } finally {
      listen.mockRestore();
    }
  });

  it("confirmTimeoutMs: false turns it off: a silent listener is not waited for", async () => {
    const table = store.channel.replace(/_revoked$/, "");
    const told: unknown[] = [];
    const off = new PostgresKeyStore({ client: db, table, confirmTimeoutMs: false, onUnconfirmed: (e) => told.push(e) });
    const r = makeTestRecord();
    await off.insert(r);
    await db.query(`INSERT INTO "${table}_listeners" (id, name, seen_at) VALUES ('silent', 'host-b:4242', now())`);
    try {
      const started = Date.now();
      expect((await off.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
      expect(Date.now() - started).toBeLessThan(200);
      expect(told).toEqual([]);
    } finally {
      await db.query(`DELETE FROM "${table}_listeners" WHERE id = 'silent'`);
    }
  });

  it("without the presence table (a schema managed elsewhere, version 1 only), revoke() still works", async () => {
    const table = uniqueName("v1");
    const v1 = new PostgresKeyStore({ client: db, table });
    await v1.migrate();
    await db.query(`DROP TABLE "${table}_listeners"`);
    const r = makeTestRecord();
    await v1.insert(r);
    expect((await v1.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
  });

  it("revoke() waits for a slow process's acknowledgement, and no longer", async () => {
    const table = store.channel.replace(/_revoked$/, "");
    const told: unknown[] = [];
    const confirming = new PostgresKeyStore({ client: db, table, confirmTimeoutMs: 2_000, onUnconfirmed: (e) => told.push(e) });
    const r = makeTestRecord();
    await confirming.insert(r);
    const removeSlow = await slowListener(table, confirming.channel);
    try {
      const started = Date.now();
      await confirming.revoke(r.id);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(140);
      expect(took).toBeLessThan(1_500);
      expect(told).toEqual([]);
    } finally {
      await removeSlow();
    }
  });

  it("a listening process that does not confirm is named to onUnconfirmed after the timeout; the key is revoked", async () => {
    const table = store.channel.replace(/_revoked$/, "");
    const told: string[][] = [];
    const confirming = new PostgresKeyStore({ client: db, table, confirmTimeoutMs: 200, onUnconfirmed: (e) => told.push([e.id, ...e.listeners]) });
    const r = makeTestRecord();
    await confirming.insert(r);
    await db.query(`INSERT INTO "${table}_listeners" (id, name, seen_at) VALUES ('silent', 'host-b:4242', now())`);
    try {
      const started = Date.now();
      expect((await confirming.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(told).toEqual([[r.id, "host-b:4242"]]);
    } finally {
      await db.query(`DELETE FROM "${table}_listeners" WHERE id = 'silent'`);
    }
  });

  it("a process gone without a word (no heartbeat for 15 s) is not waited for", async () => {
    const table = store.channel.replace(/_revoked$/, "");
    const told: unknown[] = [];
    const confirming = new PostgresKeyStore({ client: db, table, confirmTimeoutMs: 200, onUnconfirmed: (e) => told.push(e) });
    const r = makeTestRecord();
    await confirming.insert(r);
    await db.query(`INSERT INTO "${table}_listeners" (id, name, seen_at) VALUES ('gone', 'host-c:1', now() - interval '16 seconds')`);
    try {
      expect((await confirming.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
      expect(told).toEqual([]);
    } finally {
      await db.query(`DELETE FROM "${table}_listeners" WHERE id = 'gone'`);
    }
  });
});

describe("migrate() refuses what it cannot make right, with a message that says what to do", () => {
  const storeError = async (promise: Promise<unknown>): Promise<string> => {
    try {
      await promise;
    } catch (error) {
      expect(isApiKeyError(error) && error.code).toBe("STORE_ERROR");
      return (error as Error).message;
    }
    throw new Error("expected migrate() to fail");
  };

  it("a renamed table kept the hash index's name: refused (duplicate hashes would be stored), nothing created", async () => {
    const name = uniqueName("renamed");
    await new PostgresKeyStore({ client: db, table: name }).migrate();
    await db.exec(`ALTER TABLE "${name}" RENAME TO "${name}_backup"; DROP TABLE "${name}_migrations"`);
    const message = await storeError(new PostgresKeyStore({ client: db, table: name }).migrate());
    expect(message).toContain(`public.${name} has no unique index on hash: the name "${name}_hash_key" is taken by another index`);
    const { rows } = await db.query("SELECT to_regclass($1) AS t", [`"public"."${name}"`]);
    expect(rows).toEqual([{ t: null }]); // rolled back
  });

  it("a database at a newer schema version than this package: refused, not reported as up to date", async () => {
    const name = uniqueName("newer");
    await new PostgresKeyStore({ client: db, table: name }).migrate();
    await db.query(`INSERT INTO "${name}_migrations" (version) VALUES (3)`);
    expect(await storeError(new PostgresKeyStore({ client: db, table: name }).migrate())).toContain("is at schema version 3, newer than this package's 2");
  });

  it("a table of that name that is not ours: refused, and left as it was (no index added)", async () => {
    const name = uniqueName("foreign");
    await db.exec(`CREATE TABLE "${name}" (hash text, account_id text)`);
    const message = await storeError(new PostgresKeyStore({ client: db, table: name }).migrate());
    expect(message).toContain(`public.${name} exists and is not a key table of this package (no id, name, hint`);
    const { rows } = await db.query("SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = $1", [name]);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it("a schema that does not exist yet is created (a new database, PGlite)", async () => {
    const schema = uniqueName("keys_schema");
    const inSchema = new PostgresKeyStore({ client: db, schema, table: "api_keys" });
    expect((await inSchema.migrate()).applied).toEqual([1, 2]);
    await inSchema.insert(makeTestRecord({ id: "key_in_schema" }));
    expect((await inSchema.getById("key_in_schema"))?.id).toBe("key_in_schema");
    const { openPGliteKeyStore } = await import("../../src/stores/postgres/index.js");
    const opened = await openPGliteKeyStore({ schema: "tenant_keys" });
    try {
      await opened.store.insert(makeTestRecord({ id: "key_opened" }));
      expect((await opened.store.getById("key_opened"))?.id).toBe("key_opened");
    } finally {
      await opened.close();
    }
  });

  it("a NOTIFY channel with a double quote is refused naming channel (PGlite never delivered it)", () => {
    let error: unknown;
    try {
      new PostgresKeyStore({ client: db, channel: 'keys"revoked' });
    } catch (e) {
      error = e;
    }
    expect(isApiKeyError(error) && [error.code, error.field]).toEqual(["INVALID_OPTIONS", "channel"]);
  });
});

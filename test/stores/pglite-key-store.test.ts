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

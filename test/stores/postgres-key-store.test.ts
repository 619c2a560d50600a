import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApiKeyAuth, createKeyManager } from "../../src/index.js";
import { PostgresKeyStore } from "../../src/stores/postgres/index.js";
import { makeTestRecord, runKeyStoreConformance } from "../../src/testing/index.js";
import { DATABASE_URL, uniqueName, waitFor } from "./helpers.js";

// Against a real PostgreSQL server: set DATABASE_URL (CI does, see .ci/run).
describe.skipIf(DATABASE_URL === undefined)("PostgresKeyStore on a pg Pool (set DATABASE_URL to run)", () => {
  const table = uniqueName("keys");
  let pool: pg.Pool;
  let store: PostgresKeyStore;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
    store = new PostgresKeyStore({ client: pool, table });
    await store.migrate();
  });
  afterAll(async () => {
    if (pool === undefined) return;
    await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_migrations", "${table}_listeners"`);
    await pool.end();
  });

  runKeyStoreConformance("PostgresKeyStore on PostgreSQL", () => store, { strictInput: true, rotationRules: true });

  it("migrate() run by several servers at once applies each version exactly once", async () => {
    const t = uniqueName("race");
    const stores = [0, 1, 2].map(() => new PostgresKeyStore({ client: pool, table: t }));
    try {
      const results = await Promise.all(stores.map((s) => s.migrate()));
      expect(results.flatMap((r) => r.applied)).toEqual([1, 2]);
      const { rows } = await pool.query(`SELECT version FROM "${t}_migrations" ORDER BY version`);
      expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
    } finally {
      await pool.query(`DROP TABLE IF EXISTS "${t}", "${t}_migrations", "${t}_listeners"`);
    }
  });

  it("concurrent revokes keep the earliest time, whatever order they commit in", async () => {
    const r = makeTestRecord();
    await store.insert(r);
    const base = Date.now();
    const times = Array.from({ length: 8 }, (_, i) => new Date(base + (i % 2 === 0 ? 1 : -1) * i * 1000));
    await Promise.all(times.map((at) => store.revoke(r.id, { at })));
    const earliest = Math.min(...times.map((t) => t.getTime()));
    expect((await store.getById(r.id))?.revokedAt?.getTime()).toBe(earliest);
  });

  it("last used is one statement per batch and never moves back, even with an id twice in a batch", async () => {
    const r = makeTestRecord();
    await store.insert(r);
    const t1 = new Date(Date.now() - 2_000);
    const t2 = new Date(Date.now() - 1_000);
    await store.recordUsage([{ id: r.id, lastUsedAt: t2 }, { id: r.id, lastUsedAt: t1 }]);
    expect((await store.getById(r.id))?.lastUsedAt).toEqual(t2);
    // Another server's older batch arriving late changes nothing.
    await new PostgresKeyStore({ client: pool, table }).recordUsage([{ id: r.id, lastUsedAt: t1 }]);
    expect((await store.getById(r.id))?.lastUsedAt).toEqual(t2);
  });

  it("a revocation made through one server's store is announced to another's", async () => {
    const otherPool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    const other = new PostgresKeyStore({ client: otherPool, table });
    const r = makeTestRecord();
    await store.insert(r);
    const seen: string[] = [];
    let up = false;
    const stop = other.subscribeRevocations((x) => seen.push(x.hash), (s) => (up = s));
    try {
      await waitFor(() => up, 3_000, "LISTEN");
      await store.revoke(r.id);
      await waitFor(() => seen.includes(r.hash), 3_000, "announcement");
    } finally {
      stop();
      await otherPool.end();
    }
  });

  it("a LISTEN connection that stops answering (no error, no end) is taken as dropped by the heartbeat", async () => {
    const statuses: boolean[] = [];
    const stop = store.subscribeRevocations(() => {}, (s) => statuses.push(s));
    const locker = await pool.connect();
    try {
      await waitFor(() => statuses.at(-1) === true, 3_000, "LISTEN");
      // Hold the presence row locked: the next heartbeat on the listening connection blocks,
      // as a query on a connection whose network went silent would.
      await locker.query("BEGIN");
      await locker.query(`SELECT * FROM "${table}_listeners" FOR UPDATE`);
      await waitFor(() => statuses.includes(false, 2), 12_000, "down after a silent heartbeat");
      await locker.query("ROLLBACK");
      await waitFor(() => statuses.at(-1) === true && statuses.length >= 4, 5_000, "back up");
    } finally {
      await locker.query("ROLLBACK").catch(() => {});
      locker.release();
      stop();
    }
  }, 20_000);

  it("a dropped LISTEN connection reports down, then reconnects and reports up", async () => {
    // A pool of its own, so that the only connection to terminate is the listening one.
    const name = uniqueName("fluenzr_listen");
    const listenPool = new pg.Pool({ connectionString: DATABASE_URL, max: 2, application_name: name });
    listenPool.on("error", () => {});
    const listening = new PostgresKeyStore({ client: listenPool, table });
    const statuses: boolean[] = [];
    const seen: string[] = [];
    const stop = listening.subscribeRevocations((x) => seen.push(x.id), (s) => statuses.push(s));
    try {
      await waitFor(() => statuses.at(-1) === true, 3_000, "LISTEN");
      const { rows } = await pool.query("SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1", [name]);
      expect(rows).toHaveLength(1);
      await waitFor(() => statuses.length >= 3 && statuses.at(-1) === true, 5_000, "reconnect");
      expect(statuses.slice(0, 3)).toEqual([false, true, false]);
      const r = makeTestRecord();
      await store.insert(r);
      await store.revoke(r.id);
      await waitFor(() => seen.includes(r.id), 3_000, "announcement after reconnect");
    } finally {
      stop();
      await listenPool.end();
    }
  });

  it("revoke refuses an Invalid Date before any query", async () => {
    const r = makeTestRecord();
    await store.insert(r);
    const spies = [vi.spyOn(pool, "query"), vi.spyOn(pool, "connect")];
    try {
      await expect(store.revoke(r.id, { at: new Date("garbage") })).rejects.toMatchObject({ code: "INVALID_INPUT", field: "at" });
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect((await store.getById(r.id))?.revokedAt).toBeNull();
  });

  const listeners = async (): Promise<number> => {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${table}_listeners"`);
    return (rows[0] as { n: number }).n;
  };

  it("a listener stopped while its presence is being written leaves no row behind", async () => {
    const connect = pool.connect.bind(pool);
    let stop = (): void => {};
    let stopped = false;
    const spy = vi.spyOn(pool, "connect").mockImplementation(((callback?: unknown) => {
      // pool.query() checks out with a callback: left as it is.
      if (typeof callback === "function") return connect(callback as never);
      return listenWith();
    }) as never);
    const listenWith = async (): Promise<pg.PoolClient> => {
      const conn = await connect();
      const query = conn.query.bind(conn) as (text: string, values?: unknown[]) => Promise<unknown>;
      (conn as { query: unknown }).query = (text: string, values?: unknown[]) => {
        const sent = query(text, values);
        if (!stopped && text.includes(`"${table}_listeners"`) && text.startsWith("INSERT")) {
          stopped = true;
          stop();
        }
        return sent;
      };
      return conn;
    };
    try {
      stop = store.subscribeRevocations(() => {});
      await waitFor(() => stopped, 3_000, "the presence write");
    } finally {
      spy.mockRestore();
      stop();
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(await listeners()).toBe(0);
  });

  it("a pool ended right after its listener stopped keeps no presence row", async () => {
    const otherPool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    const other = new PostgresKeyStore({ client: otherPool, table });
    let up = false;
    const stop = other.subscribeRevocations(() => {}, (s) => (up = s));
    await waitFor(() => up, 3_000, "LISTEN");
    expect(await listeners()).toBe(1);
    stop();
    await otherPool.end(); // as on shutdown: await auth.close(); await pool.end()
    expect(await listeners()).toBe(0);
  });

  it("an authenticator closed right after its first request leaves no listener that a revoke would wait for", async () => {
    const told: unknown[] = [];
    const confirming = new PostgresKeyStore({ client: pool, table, onUnconfirmed: (e) => told.push(e) });
    const manager = createKeyManager({ store: confirming });
    const actor = { id: "usr_admin", admin: true };
    const accountId = uniqueName("acc");
    const { key, record } = await manager.create({ accountId, actor, name: "Production" });
    for (const pauseMs of [-1, 0, 1, 2, 3, 5, 8]) {
      const auth = createApiKeyAuth({ store: confirming, cache: { ttlMs: 60_000, max: 100 } });
      const first = auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" });
      if (pauseMs === 0) await Promise.resolve();
      else if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      await auth.close();
      expect((await first).ok).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(await listeners()).toBe(0);
    const started = Date.now();
    await manager.revoke({ accountId, actor, id: record.id });
    expect(Date.now() - started).toBeLessThan(500);
    expect(told).toEqual([]);
  });

  it("a pool of two serves a listener and a confirmed revoke in the same process without waiting out the timeout", async () => {
    const smallPool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    const told: unknown[] = [];
    const small = new PostgresKeyStore({ client: smallPool, table, onUnconfirmed: (e) => told.push(e) });
    let up = false;
    const stop = small.subscribeRevocations(() => {}, (s) => (up = s));
    try {
      await waitFor(() => up, 3_000, "LISTEN");
      const r = makeTestRecord();
      await small.insert(r);
      // The listener holds one connection, the revoke another while it waits: the acknowledgement
      // goes out on the listening connection, not a third one the pool does not have.
      const started = Date.now();
      await small.revoke(r.id);
      expect(Date.now() - started).toBeLessThan(500);
      expect(told).toEqual([]);
    } finally {
      stop();
      await smallPool.end();
    }
  });

  it("revoke() waits for the listening processes by default, and not with confirmTimeoutMs: false", async () => {
    const otherPool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    const other = new PostgresKeyStore({ client: otherPool, table });
    const told: unknown[] = [];
    const byDefault = new PostgresKeyStore({ client: pool, table, onUnconfirmed: (e) => told.push(e) });
    const off = new PostgresKeyStore({ client: pool, table, confirmTimeoutMs: false, onUnconfirmed: (e) => told.push(e) });
    const dropped: string[] = [];
    let up = false;
    const stop = other.subscribeRevocations((x) => dropped.push(x.hash), (s) => (up = s));
    try {
      await waitFor(() => up, 3_000, "LISTEN");
      const a = makeTestRecord();
      await byDefault.insert(a);
      await byDefault.revoke(a.id);
      // Resolved only after the listening process dropped the key.
      expect(dropped).toEqual([a.hash]);
      // Off: resolves without waiting, even for a process that never answers.
      await pool.query(`INSERT INTO "${table}_listeners" (id, name, seen_at) VALUES ('silent', 'host-b:4242', now())`);
      const b = makeTestRecord();
      await off.insert(b);
      const started = Date.now();
      expect((await off.revoke(b.id))?.revokedAt).toBeInstanceOf(Date);
      expect(Date.now() - started).toBeLessThan(200);
      await waitFor(() => dropped.includes(b.hash), 3_000, "announcement");
      expect(told).toEqual([]);
    } finally {
      await pool.query(`DELETE FROM "${table}_listeners" WHERE id = 'silent'`);
      stop();
      await otherPool.end();
    }
  });
});

// Sessions set up unlike PostgreSQL's defaults: dates in another style (SQL, day first) and a time
// zone whose offset had seconds (Monrovia until 1972). The store reads times as milliseconds since
// the epoch, so the whole conformance suite holds there too.
describe.skipIf(DATABASE_URL === undefined)("PostgresKeyStore on a pg Pool whose sessions use DateStyle SQL, DMY and TimeZone Africa/Monrovia", () => {
  const table = uniqueName("keys_style");
  let pool: pg.Pool;
  let store: PostgresKeyStore;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4, options: "-c DateStyle=SQL,DMY -c TimeZone=Africa/Monrovia" });
    store = new PostgresKeyStore({ client: pool, table });
    await store.migrate();
    const { rows } = await pool.query("SHOW DateStyle");
    expect(rows[0]).toEqual({ DateStyle: "SQL, DMY" });
  });
  afterAll(async () => {
    if (pool === undefined) return;
    await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_migrations", "${table}_listeners"`);
    await pool.end();
  });

  runKeyStoreConformance("PostgresKeyStore, DateStyle SQL DMY, Monrovia", () => store, { strictInput: true, rotationRules: true });
});

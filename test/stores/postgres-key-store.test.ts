import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

  runKeyStoreConformance("PostgresKeyStore on PostgreSQL", () => store);

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
});

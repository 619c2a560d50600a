// DESIGN §9: "The store holds no plaintext key." Keys are created, used (so last used is written),
// rotated and revoked through the public API; then everything the store wrote is read back raw —
// every row of every table, every Redis key and field — and searched for any key's secret part.
import { Redis } from "ioredis";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createApiKeyAuth, createKeyManager, type KeyStore } from "../../src/index.js";
import { openPGliteKeyStore, PostgresKeyStore } from "../../src/stores/postgres/index.js";
import { RedisKeyStore } from "../../src/stores/redis/index.js";
import { DATABASE_URL, REDIS_URL, uniqueName } from "./helpers.js";

const accounts = { getPlan: () => "pro" };
const actor = { id: "usr_admin", admin: true };

/** Make keys in every state through the public API; return their plaintexts. */
async function exercise(store: KeyStore): Promise<string[]> {
  const manager = createKeyManager({ store, accounts });
  const auth = createApiKeyAuth({ store, accounts, lastUsedIntervalMs: 10 });
  const a = await manager.create({ accountId: "acc_np", actor, name: "Used", environment: "prod" });
  const b = await manager.create({ accountId: "acc_np", actor, name: "Revoked", permissions: "read-only" });
  const c = await manager.create({ accountId: "acc_np", actor, name: "Rotated", environment: "dev" });
  for (const key of [a.key, b.key, c.key]) {
    expect((await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
  }
  await auth.close();
  await manager.revoke({ accountId: "acc_np", actor, id: b.record.id });
  const rotated = await manager.rotate({ accountId: "acc_np", actor, id: c.record.id, gracePeriodMs: 60_000 });
  expect((await manager.list({ accountId: "acc_np" })).find((r) => r.id === a.record.id)?.lastUsedAt).toBeInstanceOf(Date);
  return [a.key, b.key, c.key, rotated.key];
}

/** The 28 characters after the prefix and before the 4 a hint shows: the secret part. */
function assertNoSecret(dump: string, keys: string[]): void {
  expect(dump.length).toBeGreaterThan(100);
  for (const key of keys) {
    expect(dump).not.toContain(key);
    expect(dump).not.toContain(key.slice(-32, -4));
  }
}

async function dumpTables(query: (sql: string) => Promise<{ rows: unknown[] }>, tables: string[]): Promise<string> {
  const parts: unknown[] = [];
  for (const t of tables) parts.push((await query(`SELECT * FROM "${t}"`)).rows);
  return JSON.stringify(parts);
}

describe("no plaintext key in the store (DESIGN §9)", () => {
  it("PGlite: no table holds a key", async () => {
    const opened = await openPGliteKeyStore();
    try {
      const keys = await exercise(opened.store);
      const listed = await opened.db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
      const tables = (listed.rows as { tablename: string }[]).map((r) => r.tablename);
      expect(tables).toContain("api_keys");
      assertNoSecret(await dumpTables((sql) => opened.db.query(sql), tables), keys);
    } finally {
      await opened.close();
    }
  });

  describe.skipIf(!DATABASE_URL)("PostgreSQL (set DATABASE_URL to run)", () => {
    it("no table the store made holds a key", async () => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL });
      const table = uniqueName("np_keys");
      const tables = [table, `${table}_migrations`, `${table}_listeners`];
      try {
        const store = new PostgresKeyStore({ client: pool, table });
        await store.migrate();
        const keys = await exercise(store);
        assertNoSecret(await dumpTables((sql) => pool.query(sql), tables), keys);
      } finally {
        await pool.query(`DROP TABLE IF EXISTS ${tables.map((t) => `"${t}"`).join(", ")}`);
        await pool.end();
      }
    });
  });

  describe.skipIf(!REDIS_URL)("Redis (set REDIS_URL to run)", () => {
    it("no key or field the store wrote holds a key", async () => {
      const client = new Redis(REDIS_URL as string);
      const prefix = `${uniqueName("np")}:`;
      try {
        const keys = await exercise(new RedisKeyStore({ client, prefix }));
        const names = await client.keys(`${prefix}*`);
        expect(names.length).toBeGreaterThan(0);
        const parts: unknown[] = [names];
        for (const name of names) {
          const type = await client.type(name);
          if (type === "hash") parts.push(await client.hgetall(name));
          else if (type === "string") parts.push(await client.get(name));
          else if (type === "zset") parts.push(await client.zrange(name, 0, -1, "WITHSCORES"));
          else if (type === "set") parts.push(await client.smembers(name));
          else if (type === "list") parts.push(await client.lrange(name, 0, -1));
        }
        assertNoSecret(JSON.stringify(parts), keys);
      } finally {
        const names = await client.keys(`${prefix}*`);
        if (names.length > 0) await client.del(...names);
        client.disconnect();
      }
    });
  });
});

// Rotating stopped keys and the management error model on the stores this package ships:
// PGlite always; PostgreSQL with DATABASE_URL; Redis with REDIS_URL.
import { PGlite } from "@electric-sql/pglite";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createKeyManager, isApiKeyError, type KeyStore } from "../../src/index.js";
import { PostgresKeyStore } from "../../src/stores/postgres/index.js";
import { RedisKeyStore } from "../../src/stores/redis/index.js";
import { createFakeClock, createSeededRandom } from "../../src/testing/index.js";

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const HOUR = 3600_000;
const admin = { id: "usr_admin", admin: true };

function unique(base: string): string {
  return `${base}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const stores: [string, boolean, () => Promise<KeyStore>][] = [
  [
    "PGlite",
    true,
    async () => {
      const db = await PGlite.create();
      cleanups.push(() => db.close());
      const store = new PostgresKeyStore({ client: db, table: unique("keys") });
      await store.migrate();
      return store;
    },
  ],
  [
    "PostgreSQL",
    DATABASE_URL !== undefined,
    async () => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
      const table = unique("keys");
      cleanups.push(async () => {
        await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_migrations", "${table}_listeners"`);
        await pool.end();
      });
      const store = new PostgresKeyStore({ client: pool, table });
      await store.migrate();
      return store;
    },
  ],
  [
    "Redis",
    REDIS_URL !== undefined,
    async () => {
      const client = new Redis(REDIS_URL as string);
      const prefix = `${unique("manage")}:`;
      cleanups.push(async () => {
        const keys = await client.keys(`${prefix}*`);
        if (keys.length > 0) await client.del(...keys);
        client.disconnect();
      });
      return new RedisKeyStore({ client, prefix });
    },
  ],
];

async function status(promise: Promise<unknown>): Promise<[number | undefined, string]> {
  const e = await promise.then(
    () => new Error("expected a rejection"),
    (x: unknown) => x,
  );
  if (!isApiKeyError(e)) throw e;
  return [e.status, e.code];
}

describe.each(stores)("key management on %s", (_, enabled, open) => {
  it.skipIf(!enabled)("a revoked key is replaced and stays revoked at its first time; a rotated-out key is 409", async () => {
    const store = await open();
    const clock = createFakeClock(Date.UTC(2025, 5, 1));
    const manager = createKeyManager({ store, clock });
    const accountId = unique("acc");

    const a = await manager.create({ accountId, actor: admin, name: "A", environment: "prod", permissions: "read-only", metadata: { t: 1 } });
    const revoked = await manager.revoke({ accountId, actor: admin, id: a.record.id });
    clock.advance(HOUR);
    const ra = await manager.rotate({ accountId, actor: admin, id: a.record.id, gracePeriodMs: HOUR });
    expect(ra.record).toMatchObject({ name: "A", environment: "prod", permissions: "read-only", metadata: { t: 1 }, rotatedFromId: a.record.id });
    expect(ra.graceEndsAt).toEqual(revoked.revokedAt);
    const stored = await store.getById(a.record.id);
    expect([stored?.revokedAt, stored?.revokedReason]).toEqual([revoked.revokedAt, "revoked"]);
    expect(await status(manager.rotate({ accountId, actor: admin, id: a.record.id }))).toEqual([409, "CONFLICT"]);

    // Rotated with a grace, then cut short by an administrator: still "already rotated".
    const b = await manager.create({ accountId, actor: admin, name: "B" });
    await manager.rotate({ accountId, actor: admin, id: b.record.id, gracePeriodMs: 24 * HOUR });
    clock.advance(HOUR);
    await manager.revoke({ accountId, actor: admin, id: b.record.id });
    clock.advance(HOUR);
    expect(await status(manager.rotate({ accountId, actor: admin, id: b.record.id }))).toEqual([409, "CONFLICT"]);

    // Several at once on a revoked key: exactly one successor.
    const c = await manager.create({ accountId, actor: admin, name: "C" });
    await manager.revoke({ accountId, actor: admin, id: c.record.id });
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => manager.rotate({ accountId, actor: admin, id: c.record.id })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect((await store.listByAccount(accountId)).filter((r) => r.rotatedFromId === c.record.id)).toHaveLength(1);
  });

  it.skipIf(!enabled)("the store's DUPLICATE_KEY comes out as 409 CONFLICT with the envelope", async () => {
    const store = await open();
    const accountId = unique("acc");
    const first = createKeyManager({ store, random: createSeededRandom(11) });
    const second = createKeyManager({ store, random: createSeededRandom(11) });
    await first.create({ accountId, actor: admin, name: "A" });
    const e = await second.create({ accountId, actor: admin, name: "B" }).catch((x: unknown) => x);
    expect(isApiKeyError(e) && [e.status, e.code, e.body.error.code]).toEqual([409, "CONFLICT", "CONFLICT"]);
  });
});

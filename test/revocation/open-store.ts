// Opens the store a revocation-test process works on, from its environment: STORE=postgres|redis,
// DATABASE_URL or REDIS_URL, and STORE_NAME (the table or key prefix of this test run).
import { Redis } from "ioredis";
import pg from "pg";
import type { KeyStore } from "../../src/index.js";
import { PostgresKeyStore } from "../../src/stores/postgres/index.js";
import { RedisKeyStore } from "../../src/stores/redis/index.js";

export interface OpenedStore {
  store: KeyStore;
  /** Processes listening for revocations right now (their presence heartbeat is fresh). */
  listeners(): Promise<number>;
  close(): Promise<void>;
}

export async function openStore(env: NodeJS.ProcessEnv = process.env): Promise<OpenedStore> {
  const name = env.STORE_NAME ?? "revocation";
  // CONFIRM_MS: the stores' confirmTimeoutMs ("false" turns confirmed revocation off; unset: the default).
  const confirmTimeoutMs = env.CONFIRM_MS === undefined ? undefined : env.CONFIRM_MS === "false" ? false : Number(env.CONFIRM_MS);
  if (env.STORE === "redis") {
    const client = new Redis(env.REDIS_URL as string);
    return {
      store: new RedisKeyStore({ client, prefix: `${name}:`, confirmTimeoutMs }),
      listeners: () => client.zcount(`${name}:listeners`, Date.now() - 15_000, "+inf"),
      close: async () => void client.disconnect(),
    };
  }
  const client = new pg.Pool({ connectionString: env.DATABASE_URL, max: 4 });
  const store = new PostgresKeyStore({ client, table: name, confirmTimeoutMs });
  await store.migrate();
  return {
    store,
    listeners: async () => {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${name}_listeners" WHERE seen_at > now() - interval '15 seconds'`);
      return (rows[0] as { n: number }).n;
    },
    close: () => client.end(),
  };
}

/** Wall-clock time in ms with sub-millisecond precision, comparable across processes on one machine. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

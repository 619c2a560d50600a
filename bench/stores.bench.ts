// Store benchmark (`npm run bench`, after the core one). Prints figures; asserts nothing.
// 1. authenticate hit through the verification cache on each store vs MemoryKeyStore (ratio);
// 2. the miss path: store round trips per lookup (counted at the client) and time per lookup;
// 3. last-used writes for one key at 10 k requests/s over a minute, time scaled down (see below).
// PGlite always runs; PostgreSQL needs DATABASE_URL, Redis needs REDIS_URL.
import os from "node:os";
import { PGlite } from "@electric-sql/pglite";
import { Redis } from "ioredis";
import pg from "pg";
import {
  createApiKeyAuth,
  generateApiKey,
  hashApiKey,
  MemoryKeyStore,
  type ApiKeyAuth,
  type ApiKeyRecord,
  type ApiKeyUsage,
  type KeyStore,
} from "../src/index.js";
import { PostgresKeyStore } from "../src/stores/postgres/index.js";
import { RedisKeyStore } from "../src/stores/redis/index.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const N = Number(process.env.BENCH_N ?? 100_000);
const MISSES = Number(process.env.BENCH_MISSES ?? 1_000);
// Last used: 10 k requests/s on one key for 60 s of simulated time, run SCALE times faster
// (both the run and lastUsedIntervalMs are divided by SCALE, so the count of writes is the same).
const SCALE = Number(process.env.BENCH_USAGE_SCALE ?? 10);
const unique = `bench_${Date.now().toString(36)}`;

interface Target {
  name: string;
  store: KeyStore;
  /** Store round trips so far (counted at the client). */
  roundTrips(): number;
  close(): Promise<void>;
}

function record(key: string, i: number): ApiKeyRecord {
  return {
    id: `key_${unique}_${i}_${Math.random().toString(36).slice(2, 8)}`, accountId: `acc_${unique}`, name: "bench",
    hash: hashApiKey(key), hint: `flz_sk_prod_…${key.slice(-4)}`, environment: "prod", permissions: "all",
    createdAt: new Date(), createdBy: null, lastUsedAt: null, revokedAt: null, revokedReason: null, expiresAt: null,
    rotatedFromId: null, metadata: null,
  };
}

/** Count calls of `method` on `target` (an instance override that forwards to the original). */
function counter(target: object, method: string): () => number {
  let calls = 0;
  const t = target as Record<string, (...args: unknown[]) => unknown>;
  const original = (t[method] as (...args: unknown[]) => unknown).bind(target);
  t[method] = (...args: unknown[]) => {
    calls++;
    return original(...args);
  };
  return () => calls;
}

async function targets(): Promise<Target[]> {
  const out: Target[] = [];
  const db = await PGlite.create();
  const pgliteStore = new PostgresKeyStore({ client: db, table: unique });
  await pgliteStore.migrate();
  out.push({ name: "PostgresKeyStore (PGlite)", store: pgliteStore, roundTrips: counter(db, "query"), close: () => db.close() });
  if (process.env.DATABASE_URL !== undefined) {
    const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
    const store = new PostgresKeyStore({ client: pool, table: unique });
    await store.migrate();
    out.push({
      name: "PostgresKeyStore (pg, PostgreSQL)", store, roundTrips: counter(pool, "query"),
      close: async () => {
        await pool.query(`DROP TABLE IF EXISTS "${unique}", "${unique}_migrations", "${unique}_listeners"`);
        await pool.end();
      },
    });
  }
  if (process.env.REDIS_URL !== undefined) {
    const client = new Redis(process.env.REDIS_URL);
    const store = new RedisKeyStore({ client, prefix: `${unique}:` });
    out.push({
      name: "RedisKeyStore", store, roundTrips: counter(client, "sendCommand"),
      close: async () => {
        const keys = await client.keys(`${unique}:*`);
        if (keys.length > 0) await client.del(...keys);
        client.disconnect();
      },
    });
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const stores = await targets();
  const keys = Array.from({ length: 1024 }, () => generateApiKey({ environment: "prod" }).key);
  const requests = keys.map((k) => ({ authorization: `Bearer ${k}`, method: "GET" }));
  const memory = new MemoryKeyStore();
  for (let i = 0; i < keys.length; i++) await memory.insert(record(keys[i] as string, i));
  const cache = { ttlMs: 3_600_000, max: 10_000 };
  const cases: { name: string; auth: ApiKeyAuth }[] = [
    { name: "MemoryKeyStore, no cache (baseline)", auth: createApiKeyAuth({ store: memory }) },
    { name: "MemoryKeyStore, cache", auth: createApiKeyAuth({ store: memory, cache }) },
  ];
  for (const t of stores) {
    for (let i = 0; i < keys.length; i++) await t.store.insert(record(keys[i] as string, i));
    cases.push({ name: `${t.name}, cache hit`, auth: createApiKeyAuth({ store: t.store, cache }) });
  }
  // Warm: the first pass subscribes; once the channel is live, a second pass fills the cache.
  for (const c of cases) for (const r of requests) await c.auth.authenticate(r);
  await new Promise((r) => setTimeout(r, 500));
  for (const c of cases) for (const r of requests) if (!(await c.auth.authenticate(r)).ok) throw new Error(`${c.name}: warm-up refused`);

  const results = new Map<string, number[]>();
  let sink = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // A different case goes first each round, so no case always runs on a cold or warm machine.
    for (const c of [...cases.slice(round % cases.length), ...cases.slice(0, round % cases.length)]) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) sink += (await c.auth.authenticate(requests[i & 1023]!)).ok ? 1 : 0;
      results.set(c.name, [...(results.get(c.name) ?? []), Number(process.hrtime.bigint() - t0) / N]);
    }
  }
  const base = median(results.get(cases[0]!.name)!);
  console.log(`# store benchmark — ${os.cpus()[0]?.model ?? "cpu"} ×${os.cpus().length}, Node ${process.version}`);
  console.log("");
  console.log(`## authenticate hit (1024 keys, ${ROUNDS} interleaved rounds × ${N}, median)`);
  console.log("");
  console.log("| case | ns/op | vs MemoryKeyStore |");
  console.log("|---|---:|---:|");
  for (const c of cases) {
    const ns = median(results.get(c.name)!);
    console.log(`| ${c.name} | ${ns.toFixed(0)} | ${(ns / base).toFixed(2)}× |`);
  }

  console.log("");
  console.log(`## miss path (${MISSES} lookups each: keys stored but not cached, and unknown keys)`);
  console.log("");
  console.log("| store | lookup | round trips / lookup | µs / lookup |");
  console.log("|---|---|---:|---:|");
  for (const t of stores) {
    const fresh = Array.from({ length: MISSES }, () => generateApiKey({ environment: "prod" }).key);
    for (let i = 0; i < fresh.length; i++) await t.store.insert(record(fresh[i] as string, 10_000 + i));
    const unknown = Array.from({ length: MISSES }, () => generateApiKey({ environment: "prod" }).key);
    const auth = createApiKeyAuth({ store: t.store, cache });
    await auth.authenticate(requests[0]!); // subscribe first: not part of the count
    await new Promise((r) => setTimeout(r, 200));
    for (const [label, list, expectOk] of [["stored key, first use", fresh, true], ["unknown key", unknown, false]] as const) {
      const before = t.roundTrips();
      const t0 = process.hrtime.bigint();
      for (const k of list) {
        const ok = (await auth.authenticate({ authorization: `Bearer ${k}`, method: "GET" })).ok;
        if (ok !== expectOk) throw new Error(`${t.name}: unexpected answer on the miss path`);
      }
      const us = Number(process.hrtime.bigint() - t0) / list.length / 1000;
      console.log(`| ${t.name} | ${label} | ${((t.roundTrips() - before) / list.length).toFixed(2)} | ${us.toFixed(1)} |`);
    }
    await auth.close();
  }

  console.log("");
  const simulatedS = 60;
  const rate = 10_000;
  const realMs = (simulatedS * 1000) / SCALE;
  const intervalMs = 60_000 / SCALE;
  console.log(`## last-used writes: one key, ${rate.toLocaleString("en-US")} requests/s for ${simulatedS} s (run ${SCALE}× faster: ${realMs / 1000} s with lastUsedIntervalMs ${intervalMs})`);
  console.log("");
  console.log("| store | requests | recordUsage batches | writes for the key |");
  console.log("|---|---:|---:|---:|");
  for (const t of stores) {
    let batches = 0;
    let writes = 0;
    const counted: KeyStore = {
      insert: (r) => t.store.insert(r),
      getByHash: (h) => t.store.getByHash(h),
      getById: (id) => t.store.getById(id),
      listByAccount: (a) => t.store.listByAccount(a),
      revoke: (id, o) => t.store.revoke(id, o),
      recordUsage: (batch: readonly ApiKeyUsage[]) => {
        batches++;
        writes += batch.length;
        return t.store.recordUsage(batch);
      },
      subscribeRevocations: (l, s) => t.store.subscribeRevocations!(l, s),
    };
    const auth = createApiKeyAuth({ store: counted, cache, lastUsedIntervalMs: intervalMs });
    const request = requests[1]!;
    let sent = 0;
    const start = Date.now();
    // Paced in 10 ms slices: rate/100 requests each, until the (scaled) minute is over.
    while (Date.now() - start < realMs) {
      const slice = Date.now();
      const perSlice = Math.round((rate * SCALE) / 100);
      for (let i = 0; i < perSlice; i++) sink += (await auth.authenticate(request)).ok ? 1 : 0;
      sent += perSlice;
      const wait = 10 - (Date.now() - slice);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await auth.close(); // the final flush counts too
    console.log(`| ${t.name} | ${sent.toLocaleString("en-US")} | ${batches} | ${writes} |`);
  }
  for (const c of cases) await c.auth.close();
  for (const t of stores) await t.close();
  if (sink === -1) console.log(sink);
}

await main();

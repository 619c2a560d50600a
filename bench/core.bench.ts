// Core benchmark (`npm run bench`): generate, parse, hash and authenticate, interleaved in one
// process, each against the floor measured in the same run: a one-shot native SHA-256 of the key
// plus a Map.get. Prints figures; asserts nothing (targets are read by people, not by tests).
import { hash as nativeHash } from "node:crypto";
import os from "node:os";
import {
  createApiKeyAuth,
  generateApiKey,
  hashApiKey,
  MemoryKeyStore,
  parseApiKey,
  type ApiKeyRecord,
} from "../src/index.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const N = Number(process.env.BENCH_N ?? 50_000);

function record(key: string, i: number): ApiKeyRecord {
  const { hint, environment } = { hint: `flz_sk_prod_…${key.slice(-4)}`, environment: "prod" };
  return {
    id: `key_${i}`, accountId: `acc_${i % 1000}`, name: "bench", hash: hashApiKey(key), hint, environment,
    permissions: "all", createdAt: new Date(), createdBy: null, lastUsedAt: null, revokedAt: null,
    revokedReason: null, expiresAt: null, rotatedFromId: null, metadata: null,
  };
}

async function world(size: number) {
  const store = new MemoryKeyStore();
  const keys: string[] = [];
  const floorMap = new Map<string, ApiKeyRecord>();
  for (let i = 0; i < size; i++) {
    const { key } = generateApiKey({ environment: "prod" });
    keys.push(key);
    const r = record(key, i);
    await store.insert(r);
    floorMap.set(nativeHash("sha256", key, "hex"), r);
  }
  const auth = createApiKeyAuth({ store, accounts: { getPlan: () => "pro" }, lastUsedIntervalMs: 60_000 });
  const misses = Array.from({ length: 1024 }, () => generateApiKey({ environment: "prod" }).key);
  return { store, keys, floorMap, auth, misses };
}

type Case = { name: string; group: string; run: (n: number) => Promise<void> | void };
const results = new Map<string, number[]>();

async function main(): Promise<void> {
  const w10k = await world(10_000);
  const w100k = await world(100_000);
  const validKey = w10k.keys[0] as string;
  const badChecksum = `${validKey.slice(0, -1)}${validKey.endsWith("A") ? "B" : "A"}`;
  let sink = 0;

  const cases: Case[] = [
    { name: "generateApiKey", group: "format", run: (n) => { for (let i = 0; i < n; i++) sink += generateApiKey().key.length; } },
    { name: "parseApiKey (valid)", group: "format", run: (n) => { for (let i = 0; i < n; i++) sink += parseApiKey(validKey).ok ? 1 : 0; } },
    { name: "parseApiKey (bad checksum)", group: "format", run: (n) => { for (let i = 0; i < n; i++) sink += parseApiKey(badChecksum).ok ? 1 : 0; } },
    { name: "hashApiKey (SHA-256)", group: "hash", run: (n) => { for (let i = 0; i < n; i++) sink += hashApiKey(validKey).length; } },
  ];
  for (const [label, w] of [["10k", w10k], ["100k", w100k]] as const) {
    // Header values as an HTTP server hands them over: flat strings from its parser (a template
    // literal would make a rope that every character read has to look through).
    const header = (k: string) => Buffer.from(`Bearer ${k}`, "latin1").toString("latin1");
    const hits = w.keys.slice(0, 1024).map((k) => ({ authorization: header(k), method: "GET" }));
    const misses = w.misses.map((k) => ({ authorization: header(k), method: "GET" }));
    const hitKeys = w.keys.slice(0, 1024);
    cases.push(
      { name: `floor: native sha256 + Map.get (${label})`, group: label, run: (n) => { for (let i = 0; i < n; i++) sink += w.floorMap.get(nativeHash("sha256", hitKeys[i & 1023] as string, "hex")) ? 1 : 0; } },
      // The same floor behind an await, as any async API is called: what the await itself costs.
      { name: `floor, awaited (${label})`, group: label, run: async (n) => { for (let i = 0; i < n; i++) sink += (await w.floorMap.get(nativeHash("sha256", hitKeys[i & 1023] as string, "hex"))) ? 1 : 0; } },
      { name: `authenticate hit (${label})`, group: label, run: async (n) => { for (let i = 0; i < n; i++) sink += (await w.auth.authenticate(hits[i & 1023]!)).ok ? 1 : 0; } },
      { name: `authenticate miss (${label})`, group: label, run: async (n) => { for (let i = 0; i < n; i++) sink += (await w.auth.authenticate(misses[i & 1023]!)).ok ? 1 : 0; } },
    );
  }

  for (const c of cases) await c.run(Math.min(N, 20_000)); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      const t0 = process.hrtime.bigint();
      await c.run(N);
      const ns = Number(process.hrtime.bigint() - t0) / N;
      results.set(c.name, [...(results.get(c.name) ?? []), ns]);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const m = (name: string) => median(results.get(name) ?? [NaN]);
  // Ratios are taken within each round (the floor ran moments before), then the median of rounds:
  // a change in the machine's speed between rounds moves both sides alike.
  const r = (name: string, floorName: string) => {
    const mine = results.get(name) ?? [];
    const floor = results.get(floorName) ?? [];
    return median(mine.map((ns, i) => ns / (floor[i] as number)));
  };

  console.log(`# core benchmark — ${os.cpus()[0]?.model ?? "cpu"} ×${os.cpus().length}, Node ${process.version}, ${ROUNDS} interleaved rounds × ${N} ops, median; ratios: median of per-round ratios`);
  console.log("");
  console.log("| operation | ns/op | ops/s | vs floor | vs floor, awaited |");
  console.log("|---|---:|---:|---:|---:|");
  for (const c of cases) {
    const ns = m(c.name);
    const sized = c.group === "10k" || c.group === "100k";
    const floorName = sized ? `floor: native sha256 + Map.get (${c.group})` : undefined;
    const awaitedName = sized ? `floor, awaited (${c.group})` : undefined;
    const ratio = floorName && floorName !== c.name ? `${r(c.name, floorName).toFixed(2)}×` : "";
    // authenticate is awaited like any async API: also shown against the floor behind an await.
    const awaited = c.name.startsWith("authenticate") && awaitedName ? `${r(c.name, awaitedName).toFixed(2)}×` : "";
    console.log(`| ${c.name} | ${ns.toFixed(0)} | ${Math.round(1e9 / ns).toLocaleString("en-US")} | ${ratio} | ${awaited} |`);
  }
  console.log("");
  const gen = 1e9 / m("generateApiKey");
  const bad = m("parseApiKey (bad checksum)");
  const hit10 = r("authenticate hit (10k)", "floor: native sha256 + Map.get (10k)");
  const hit100 = r("authenticate hit (100k)", "floor: native sha256 + Map.get (100k)");
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  console.log(`targets: generation ≥ 1 M keys/s: ${Math.round(gen).toLocaleString("en-US")}/s (${verdict(gen >= 1e6)}); ` +
    `bad-checksum rejection ≤ 1 µs: ${bad.toFixed(0)} ns (${verdict(bad <= 1000)}); ` +
    `authenticate hit ≤ 2× floor: ${hit10.toFixed(2)}× at 10k, ${hit100.toFixed(2)}× at 100k (${verdict(hit10 <= 2 && hit100 <= 2)})`);
  await w10k.auth.close();
  await w100k.auth.close();
  if (sink === -1) console.log(sink);
}

await main();

// Programs the package check (scripts/check-package.mjs) runs against the installed tarball: a
// TypeScript consumer per subpath (DESIGN §10 shapes), compiled with skipLibCheck off in a project
// that has only that subpath's framework or client, and the core flow it runs on Node, Bun, Deno,
// in a context without `process` and in a Worker on workerd (DESIGN §2).

const core = `import {
  createApiKeyAuth, createKeyManager, MemoryKeyStore, generateApiKey, parseApiKey, hashApiKey,
  defineKeyFormat, isApiKeyError, type ApiKeyAuthResult, type KeyStore,
} from "@fluenzr/api-keys";

export async function main(): Promise<string> {
  const store: KeyStore = new MemoryKeyStore();
  const accounts = { getPlan: (accountId: string) => (accountId === "" ? null : "pro") };
  const manager = createKeyManager({ store, accounts });
  const actor = { id: "usr_1", admin: true };
  const { key, record } = await manager.create({
    accountId: "acc_1", actor, name: "Production", environment: "prod", permissions: "all", expiresAt: undefined,
  });
  const first = (await manager.list({ accountId: "acc_1" }))[0];
  await manager.rotate({ accountId: "acc_1", actor, id: record.id, gracePeriodMs: 0 });
  await manager.revoke({ accountId: "acc_1", actor, id: record.id });
  await manager.unused({ accountId: "acc_1", since: new Date(Date.now() - 90 * 864e5) });
  const auth = createApiKeyAuth({ store, accounts, cache: { ttlMs: 60_000, max: 10_000 } });
  const result: ApiKeyAuthResult = await auth.authenticate({
    authorization: "Bearer " + key, method: "GET", ip: "203.0.113.9", userAgent: "curl/8", path: "/v1/contacts",
  });
  const seen = result.ok
    ? result.key.accountId + result.key.permissions + result.key.hint
    : \`\${result.status} \${result.headers["WWW-Authenticate"] ?? ""} \${result.body.error.code} \${result.reason}\`;
  await auth.close();
  const parsed = parseApiKey(generateApiKey({ environment: "dev" }).key);
  const format = defineKeyFormat({ prefix: "acme", environments: ["live", "test"] });
  try {
    await manager.revoke({ accountId: "acc_1", actor: { id: "u", admin: false }, id: "nope" });
  } catch (error) {
    if (isApiKeyError(error)) return \`\${error.status ?? 500} \${error.code} \${error.body.error.message}\`;
  }
  return [seen, parsed.ok ? parsed.environment : parsed.reason, first?.status, hashApiKey(key, { pepper: "p" }), format.head].join();
}
`;

const testing = `import { MemoryKeyStore } from "@fluenzr/api-keys";
import { createFakeClock, createSeededRandom, makeTestRecord, runKeyStoreConformance } from "@fluenzr/api-keys/testing";

export const clock = createFakeClock(0);
clock.advance(1);
export const random: (buffer: Uint8Array) => void = createSeededRandom("seed");
export const record = makeTestRecord({ accountId: "acc_1" });
runKeyStoreConformance("memory", () => new MemoryKeyStore(), {
  runner: { describe: (_name, body) => body(), it: () => undefined },
  announcementTimeoutMs: 100,
});
`;

const express = `import express from "express";
import { createApiKeyAuth, MemoryKeyStore } from "@fluenzr/api-keys";
import { apiKeyAuth, type ExpressApiKeyAuthOptions } from "@fluenzr/api-keys/express";

const options: ExpressApiKeyAuthOptions = { skip: (req) => req.path === "/health" };
export const app = express();
app.use("/v1", apiKeyAuth(createApiKeyAuth({ store: new MemoryKeyStore() }), options));
app.get("/v1/me", (req, res) => {
  res.json({ accountId: req.apiKey?.accountId ?? null });
});
`;

const fastify = `import Fastify from "fastify";
import { createApiKeyAuth, MemoryKeyStore } from "@fluenzr/api-keys";
import { apiKeyAuth, type FastifyApiKeyAuthOptions } from "@fluenzr/api-keys/fastify";

export async function build(): Promise<unknown> {
  const app = Fastify();
  const options: FastifyApiKeyAuthOptions = { auth: createApiKeyAuth({ store: new MemoryKeyStore() }), hook: "onRequest" };
  await app.register(apiKeyAuth, options);
  app.get("/health", { config: { apiKeyAuth: false } }, async () => "ok");
  app.get("/v1/me", async (request) => ({ accountId: request.apiKey?.accountId ?? null }));
  return app;
}
`;

const hono = `import { Hono } from "hono";
import { createApiKeyAuth, MemoryKeyStore } from "@fluenzr/api-keys";
import { apiKeyAuth, type ApiKeyAuthEnv } from "@fluenzr/api-keys/hono";

const auth = createApiKeyAuth({ store: new MemoryKeyStore() });
export const app = new Hono<ApiKeyAuthEnv>();
app.use("/v1/*", apiKeyAuth(auth, { getIp: (c) => c.req.header("x-real-ip") }));
app.get("/v1/me", (c) => c.json({ accountId: c.get("apiKey").accountId }));
export const plain = new Hono();
plain.use("/v1/*", apiKeyAuth(auth));
plain.get("/v1/me", (c) => c.json({ accountId: c.get("apiKey").accountId }));
`;

const postgres = `import { createApiKeyAuth } from "@fluenzr/api-keys";
import { PostgresKeyStore, openPGliteKeyStore, type PgPoolLike, type PostgresMigrationResult } from "@fluenzr/api-keys/postgres";

export async function open(pool: PgPoolLike): Promise<number> {
  const store = new PostgresKeyStore({ client: pool, confirmTimeoutMs: false });
  const migrated: PostgresMigrationResult = await store.migrate();
  createApiKeyAuth({ store });
  const embedded = await openPGliteKeyStore({ dataDir: undefined });
  await embedded.close();
  return migrated.version;
}
`;

const redis = `import { Redis } from "ioredis";
import { createApiKeyAuth } from "@fluenzr/api-keys";
import { RedisKeyStore } from "@fluenzr/api-keys/redis";

export function open(url: string): unknown {
  const store = new RedisKeyStore({ client: new Redis(url, { lazyConnect: true }), prefix: "keys", confirmTimeoutMs: false });
  return createApiKeyAuth({ store });
}
`;

/**
 * Per subpath: the TypeScript program, what its project installs for types beside the subpath's
 * own peer (fastify and ioredis ship types that build on Node's), and the `lib`/`types` a consumer
 * of it has. The core and /testing get nothing: no DOM, no @types/node, no vitest.
 */
export const consumerPrograms = {
  ".": { source: core, typePackages: [], lib: ["ES2022"], types: [] },
  "./testing": { source: core + testing.replace(/^import \{ MemoryKeyStore \} from "@fluenzr\/api-keys";\n/, ""), typePackages: [], lib: ["ES2022"], types: [] },
  "./express": { source: express, typePackages: ["@types/express"], lib: ["ES2022"], types: ["node"] },
  "./fastify": { source: fastify, typePackages: ["@types/node"], lib: ["ES2022"], types: ["node"] },
  "./hono": { source: hono, typePackages: [], lib: ["ES2022", "DOM"], types: [] },
  "./postgres": { source: postgres, typePackages: [], lib: ["ES2022"], types: [] },
  "./redis": { source: redis, typePackages: ["@types/node"], lib: ["ES2022"], types: ["node"] },
};

/**
 * The core's request path and key management, as plain JavaScript that runs anywhere: `flow(core)`
 * takes the module namespace and resolves to the digests of fixed inputs and a key generated from
 * fixed bytes (the same on every runtime, whichever SHA-256 it uses), or throws.
 */
export const coreFlow = `async function flow(core) {
  const { generateApiKey, parseApiKey, hashApiKey, createApiKeyAuth, createKeyManager, MemoryKeyStore } = core;
  const fail = (what, value) => { throw new Error(what + ": " + JSON.stringify(value)); };
  const fixed = "flz_sk_prod_" + "aB3x".repeat(8);
  const hashes = [
    hashApiKey(fixed),
    hashApiKey(fixed, { pepper: "pepper" }),
    hashApiKey("ключ ✓ " + fixed, { pepper: { version: "2", secret: new Uint8Array([1, 2, 250]) } }),
  ];
  // A key from fixed bytes (an LCG, the same on every engine): generated, parsed, hashed alike everywhere.
  let seed = 0x2545f491;
  const lcg = (buffer) => {
    for (let i = 0; i < buffer.length; i++) buffer[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  };
  const made = generateApiKey({ environment: "stag", random: lcg }).key;
  const parsedMade = parseApiKey(made);
  if (!parsedMade.ok || parsedMade.environment !== "stag") fail("parse a generated key", parsedMade);
  hashes.push(made, hashApiKey(made));
  const { key } = generateApiKey({ environment: "prod" });
  if (!parseApiKey(key).ok) fail("parse", key);
  const store = new MemoryKeyStore();
  const manager = createKeyManager({ store });
  const actor = { id: "u", admin: true };
  const created = await manager.create({ accountId: "acc", actor, name: "Edge", environment: "prod" });
  const auth = createApiKeyAuth({ store });
  const request = (k) => auth.authenticate({ authorization: "Bearer " + k, method: "GET" });
  const hit = await request(created.key);
  if (!hit.ok || hit.key.accountId !== "acc") fail("hit", hit);
  const miss = await request(key);
  if (miss.ok || miss.status !== 401 || miss.reason !== "unknown") fail("miss", miss);
  await manager.revoke({ accountId: "acc", actor, id: created.record.id });
  const revoked = await request(created.key);
  if (revoked.ok || revoked.reason !== "revoked") fail("revoked", revoked);
  const listed = await manager.list({ accountId: "acc" });
  if (listed.length !== 1 || listed[0].status !== "revoked") fail("list", listed);
  await auth.close();
  return hashes;
}`;

/** @fluenzr/api-keys/hono behind the runtime's own server (Bun.serve or Deno.serve), over HTTP. */
export const honoServeScript = `import { Hono } from "hono";
import { createApiKeyAuth, createKeyManager, MemoryKeyStore } from "@fluenzr/api-keys";
import { apiKeyAuth } from "@fluenzr/api-keys/hono";

const fail = (what) => { throw new Error(what); };
const store = new MemoryKeyStore();
const manager = createKeyManager({ store });
const actor = { id: "u", admin: true };
const { key, record } = await manager.create({ accountId: "acc", actor, name: "Edge" });
const readOnly = await manager.create({ accountId: "acc", actor, name: "RO", permissions: "read-only" });
const auth = createApiKeyAuth({ store });
const app = new Hono();
app.use("/v1/*", apiKeyAuth(auth));
app.all("/v1/me", (c) => c.json({ accountId: c.get("apiKey").accountId }));

const onBun = typeof Bun !== "undefined";
const server = onBun
  ? Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch })
  : Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
const base = "http://127.0.0.1:" + (onBun ? server.port : server.addr.port);
try {
  const call = (authorization, method = "GET") =>
    fetch(base + "/v1/me", { method, headers: authorization ? { authorization } : {} });
  let r = await call("Bearer " + key);
  const body = await r.json();
  if (r.status !== 200 || body.accountId !== "acc") fail("hit: " + r.status + " " + JSON.stringify(body));
  r = await call(undefined);
  const missing = await r.json();
  if (r.status !== 401 || r.headers.get("www-authenticate") !== 'Bearer realm="api"' || missing.error.code !== "UNAUTHORIZED") fail("missing: " + r.status);
  r = await call("Bearer " + readOnly.key, "POST");
  await r.text();
  if (r.status !== 403 || !/insufficient_scope/.test(r.headers.get("www-authenticate") ?? "")) fail("read-only POST: " + r.status);
  await manager.revoke({ accountId: "acc", actor, id: record.id });
  r = await call("Bearer " + key);
  await r.text();
  if (r.status !== 401 || !/invalid_token/.test(r.headers.get("www-authenticate") ?? "")) fail("revoked: " + r.status);
  console.log("hit 200, missing 401, read-only POST 403, revoked 401");
} finally {
  await (onBun ? server.stop(true) : server.shutdown());
  await auth.close();
}
`;

/**
 * A Cloudflare Worker (ES module, `export default { fetch }`) using the core and
 * @fluenzr/api-keys/hono, for workerd, with nodejs_compat off and on. Workers allow no I/O and no
 * `crypto.getRandomValues` at global scope, so the first request builds everything: a
 * MemoryKeyStore, a key manager over a Pro and a Starter account, the keys, the Hono app.
 * `GET /fixture` (open) answers those keys, `flow(core)` and `typeof process`; `/v1/me` is behind
 * `apiKeyAuth`.
 */
export const workerdWorker = `import * as core from "@fluenzr/api-keys";
import { Hono } from "hono";
import { apiKeyAuth } from "@fluenzr/api-keys/hono";
import { waitUntil } from "cloudflare:workers";

${coreFlow}

async function setup() {
  const { createApiKeyAuth, createKeyManager, MemoryKeyStore, isApiKeyError } = core;
  const plans = new Map([["acc_pro", "pro"], ["acc_starter", "pro"]]);
  const accounts = { getPlan: (accountId) => plans.get(accountId) ?? null };
  const store = new MemoryKeyStore();
  const manager = createKeyManager({ store, accounts });
  const actor = { id: "usr_admin", admin: true };
  const pro = await manager.create({ accountId: "acc_pro", actor, name: "Production", environment: "prod" });
  const readOnly = await manager.create({ accountId: "acc_pro", actor, name: "Dashboard", permissions: "read-only" });
  const revoked = await manager.create({ accountId: "acc_pro", actor, name: "Old" });
  await manager.revoke({ accountId: "acc_pro", actor, id: revoked.record.id });
  // Made while the account was on Pro; it has since moved to Starter, whose plan has no API access.
  const starter = await manager.create({ accountId: "acc_starter", actor, name: "Legacy" });
  plans.set("acc_starter", "starter");
  let starterCreate = "created";
  try {
    await manager.create({ accountId: "acc_starter", actor, name: "Another" });
  } catch (error) {
    starterCreate = isApiKeyError(error) ? error.status + " " + error.body.error.message : String(error);
  }
  const fixture = {
    keys: { pro: pro.key, readOnly: readOnly.key, revoked: revoked.key, starter: starter.key },
    starterCreate,
    flow: await flow(core),
    process: typeof process,
  };
  const app = new Hono();
  app.get("/fixture", (c) => c.json(fixture));
  // Last used: Workers cancel a request's timers once it has answered, so the batch is written
  // by a later request once it is due, and handed to waitUntil to finish after the answer.
  app.use("/v1/*", apiKeyAuth(createApiKeyAuth({ store, accounts, lastUsedIntervalMs: 200, waitUntil })));
  app.all("/v1/me", (c) => c.json({ accountId: c.get("apiKey").accountId }));
  app.get("/usage", async (c) => c.json({ lastUsedAt: (await store.getById(pro.record.id)).lastUsedAt }));
  // A store that never answers, with a short time limit: 503, also for a request that comes
  // right after one whose client went away mid-lookup (and whose timers Workers cancelled).
  class HungStore extends MemoryKeyStore {
    getByHash() {
      return new Promise(() => {});
    }
  }
  app.use("/hung/*", apiKeyAuth(createApiKeyAuth({ store: new HungStore(), accounts, timeouts: 300 })));
  app.get("/hung/me", (c) => c.json({ accountId: c.get("apiKey").accountId }));
  app.onError((error, c) => c.text(String(error && error.stack || error), 500));
  return app;
}

let ready;
export default {
  async fetch(request, env, ctx) {
    try {
      ready ??= setup();
      return await (await ready).fetch(request, env, ctx);
    } catch (error) {
      return new Response(String(error && error.stack || error), { status: 500 });
    }
  },
};
`;

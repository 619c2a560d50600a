/**
 * `npm run demo`: a real example API on 127.0.0.1 with no database to set up.
 *
 * Keys live in an embedded PostgreSQL (PGlite) in `.demo-data/`, so they survive a restart. Two
 * accounts (Pro and Starter); on the first run three keys are generated and printed once, with
 * ready curl commands that show each answer of the contract: 200, 401, 403 for the plan, 403 for
 * a read-only key on a write. A restarted demo cannot show them again (only hashes are stored):
 * it lists them and says how to make a new one. Each refusal's reason is logged here only.
 *
 *   npm run demo                      # Express on port 3000 (or a free one)
 *   npm run demo -- --framework hono  # or fastify; --port 4000
 *   npm run demo -- --new-key         # one more Pro key, printed once
 *   npm run demo -- --fresh           # forget everything and start over
 *   npm run demo -- --self-check      # in a temporary data folder: make the calls, check, exit
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Server } from "node:http";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import { createApiKeyAuth, createKeyManager, type ApiKeyAuth, type ApiKeyAuthEvent, type KeyManager, type KeyStore } from "../src/index.js";
import { openPGliteKeyStore } from "../src/stores/postgres/index.js";
import { createApp as createExpressApp } from "../examples/express/app.js";
import { createApp as createFastifyApp } from "../examples/fastify/app.js";
import { createApp as createHonoApp } from "../examples/hono/app.js";

type Framework = "express" | "fastify" | "hono";

/** Where the demo keeps its keys: PGlite in a data folder. The one place to change for another store. */
async function createDemoStore(dataDir: string): Promise<{ store: KeyStore; close(): Promise<void> }> {
  return openPGliteKeyStore({ dataDir });
}

interface DemoKeys {
  pro: string;
  readOnly: string;
  starter: string;
}

// Plans live with your accounts, not with the keys; here a fixed map.
const plans = new Map([
  ["acc_pro", "pro"],
  ["acc_starter", "starter"],
]);
const accounts = { getPlan: (id: string): string | null => plans.get(id) ?? null };
const admin = { id: "usr_admin", admin: true };

/** First run: three keys. The Starter account got its key while on Pro, then was downgraded. */
async function seed(manager: KeyManager): Promise<DemoKeys> {
  const pro = await manager.create({ accountId: "acc_pro", actor: admin, name: "Production", environment: "prod" });
  const readOnly = await manager.create({
    accountId: "acc_pro",
    actor: admin,
    name: "Reporting dashboard",
    environment: "prod",
    permissions: "read-only",
  });
  plans.set("acc_starter", "pro");
  try {
    const starter = await manager.create({ accountId: "acc_starter", actor: admin, name: "Old integration", environment: "prod" });
    return { pro: pro.key, readOnly: readOnly.key, starter: starter.key };
  } finally {
    plans.set("acc_starter", "starter"); // downgraded: its key stays valid but loses API access
  }
}

/** A restart: the keys are there, but only as hashes. Say so, and how to get a new one. */
async function printRestart(manager: KeyManager): Promise<void> {
  const rows = [...(await manager.list({ accountId: "acc_pro" })), ...(await manager.list({ accountId: "acc_starter" }))];
  console.log(`
The demo's keys from an earlier run are still stored (they survived the restart), but a key is
shown only once and only its hash is kept, so they cannot be printed again:
`);
  for (const r of rows) {
    const lastUsed = r.lastUsedAt ? r.lastUsedAt.toISOString() : "never";
    console.log(`  ${r.hint.padEnd(22)} ${r.name.padEnd(20)} ${r.permissions.padEnd(9)} ${r.status.padEnd(8)} last used ${lastUsed}`);
  }
  console.log(`
If you kept them, they still work. Otherwise:
  npm run demo -- --new-key     make one more Pro key and print it once
  npm run demo -- --fresh       forget everything and start over with three new keys
`);
}

function logEvent(event: ApiKeyAuthEvent): void {
  // The reason a client is never told, with the key's hint (never the key).
  const who = event.hint ?? (event.reason === "missing" ? "no key" : "no readable key");
  console.log(`  [auth] ${event.method} ${event.path} -> ${event.status} ${event.reason} (${who})`);
}

/** Listen on 127.0.0.1:`port`, or on a free port if that one is taken. */
async function listen(framework: Framework, auth: ApiKeyAuth, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const closeServer = (server: Server) => (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const start = async (p: number): Promise<{ port: number; close(): Promise<void> }> => {
    if (framework === "fastify") {
      const fastify = await createFastifyApp(auth);
      await fastify.listen({ port: p, host: "127.0.0.1" });
      return { port: (fastify.server.address() as AddressInfo).port, close: () => fastify.close() };
    }
    const server: Server =
      framework === "express"
        ? createExpressApp(auth).listen(p, "127.0.0.1")
        : (serve({ fetch: createHonoApp(auth).fetch, port: p, hostname: "127.0.0.1" }) as Server);
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    return { port: (server.address() as AddressInfo).port, close: closeServer(server) };
  };
  try {
    return await start(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    console.log(`Port ${port} is taken; using a free one.`);
    return start(0);
  }
}

function printGuide(framework: Framework, url: string, keys: DemoKeys): void {
  const name = { express: "Express", fastify: "Fastify", hono: "Hono" }[framework];
  console.log(`
@fluenzr/api-keys demo: ${name} example API on ${url}  (other frameworks: --framework express|fastify|hono)

Keys, generated now and shown only this once (the store keeps only their hashes):
  export PRO_KEY=${keys.pro}        # acc_pro (Pro plan), all permissions
  export READONLY_KEY=${keys.readOnly}   # acc_pro, read-only
  export STARTER_KEY=${keys.starter}    # acc_starter (downgraded to Starter)

Paste the exports, then try:

  # 200 and 201: a valid key, reading and writing
  curl -i ${url}/v1/contacts -H "Authorization: Bearer $PRO_KEY"
  curl -i -X POST ${url}/v1/contacts -H "Authorization: Bearer $PRO_KEY" -H "Content-Type: application/json" -d '{"name":"Ada"}'

  # 401: no key, and a key with its last character cut off (refused before any store lookup)
  curl -i ${url}/v1/contacts
  curl -i ${url}/v1/contacts -H "Authorization: Bearer \${PRO_KEY%?}"

  # 403: the account's plan has no API access
  curl -i ${url}/v1/contacts -H "Authorization: Bearer $STARTER_KEY"

  # 403: a read-only key on a write (GET with it works)
  curl -i -X POST ${url}/v1/contacts -H "Authorization: Bearer $READONLY_KEY" -H "Content-Type: application/json" -d '{"name":"Ada"}'

  # open route
  curl -i ${url}/health

Server-side log of each decision below. Ctrl-C to stop.
`);
}

/** Make the guide's calls and check each answer; for CI and for the curious. */
async function selfCheck(url: string, keys: DemoKeys): Promise<boolean> {
  const calls: [string, string, RequestInit, number][] = [
    ["valid key", "/v1/contacts", { headers: { authorization: `Bearer ${keys.pro}` } }, 200],
    ["write with a full key", "/v1/contacts", { method: "POST", headers: { authorization: `Bearer ${keys.pro}`, "content-type": "application/json" }, body: '{"name":"Ada"}' }, 201],
    ["no key", "/v1/contacts", {}, 401],
    ["truncated key", "/v1/contacts", { headers: { authorization: `Bearer ${keys.pro.slice(0, -1)}` } }, 401],
    ["Starter plan", "/v1/contacts", { headers: { authorization: `Bearer ${keys.starter}` } }, 403],
    ["read-only key on a write", "/v1/contacts", { method: "POST", headers: { authorization: `Bearer ${keys.readOnly}`, "content-type": "application/json" }, body: '{"name":"Ada"}' }, 403],
    ["read-only key on a read", "/v1/contacts", { headers: { authorization: `Bearer ${keys.readOnly}` } }, 200],
    ["open route", "/health", {}, 200],
  ];
  let ok = true;
  for (const [what, path, init, expected] of calls) {
    const res = await fetch(url + path, init);
    const body = await res.text();
    const pass = res.status === expected;
    ok &&= pass;
    console.log(`${pass ? "ok  " : "FAIL"} ${what}: ${res.status} ${body}`);
  }
  return ok;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      framework: { type: "string", default: "express" },
      port: { type: "string", default: process.env["PORT"] ?? "3000" },
      "data-dir": { type: "string", default: ".demo-data/pglite" },
      "new-key": { type: "boolean", default: false },
      fresh: { type: "boolean", default: false },
      "self-check": { type: "boolean", default: false },
    },
  });
  const framework = values.framework as Framework;
  if (!["express", "fastify", "hono"].includes(framework)) {
    console.error(`Unknown framework "${values.framework}": use express, fastify or hono.`);
    process.exit(2);
  }
  // The self-check always starts from an empty, temporary folder, so it can print and use new keys.
  const scratch = values["self-check"] ? mkdtempSync(join(tmpdir(), "fluenzr-demo-")) : null;
  const dataDir = scratch ?? resolve(values["data-dir"]);
  if (values.fresh && scratch === null) rmSync(dataDir, { recursive: true, force: true });
  const db = await createDemoStore(dataDir);
  const manager = createKeyManager({ store: db.store, accounts });
  const existing = await manager.list({ accountId: "acc_pro" });
  let keys: DemoKeys | null = null;
  if (existing.length === 0) keys = await seed(manager);
  else await printRestart(manager);
  const extra = values["new-key"]
    ? (await manager.create({ accountId: "acc_pro", actor: admin, name: `Demo key ${new Date().toISOString()}`, environment: "prod" })).key
    : null;

  const auth = createApiKeyAuth({ store: db.store, accounts, environment: "prod", onEvent: logEvent });
  const server = await listen(framework, auth, Number(values.port));
  const url = `http://127.0.0.1:${server.port}`;
  console.log(`Keys are stored in ${dataDir} (PGlite, embedded PostgreSQL).`);
  if (keys) printGuide(framework, url, keys);
  else console.log(`@fluenzr/api-keys demo: ${framework} example API on ${url}`);
  if (extra) {
    console.log(`\nA new Pro key, shown only this once:\n  export PRO_KEY=${extra}\n  curl -i ${url}/v1/contacts -H "Authorization: Bearer $PRO_KEY"\n`);
  }

  const stop = async (code: number): Promise<never> => {
    await server.close();
    await auth.close();
    await db.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    process.exit(code);
  };
  if (values["self-check"]) {
    const ok = keys !== null && (await selfCheck(url, keys));
    await stop(ok ? 0 : 1);
  }
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));
}

await main();

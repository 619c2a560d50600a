/**
 * `npm run demo`: a real example API on 127.0.0.1 with no database to set up.
 *
 * Two accounts (Pro and Starter), three keys generated at start and printed once, and ready curl
 * commands that show each answer of the contract: 200, 401, 403 for the plan, 403 for a
 * read-only key on a write. Each refusal's reason is logged here, on the server side only.
 *
 *   npm run demo                      # Express on port 3000 (or a free one)
 *   npm run demo -- --framework hono  # or fastify; --port 4000; --self-check runs the calls and exits
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import { createApiKeyAuth, createKeyManager, MemoryKeyStore, type ApiKeyAuth, type ApiKeyAuthEvent, type KeyStore } from "../src/index.js";
import { createApp as createExpressApp } from "../examples/express/app.js";
import { createApp as createFastifyApp } from "../examples/fastify/app.js";
import { createApp as createHonoApp } from "../examples/hono/app.js";

type Framework = "express" | "fastify" | "hono";

/** Where the demo keeps its keys. The one place to change for another store. */
async function createDemoStore(): Promise<KeyStore> {
  return new MemoryKeyStore();
}

interface DemoKeys {
  pro: string;
  readOnly: string;
  starter: string;
}

/** Accounts, plans and keys. The Starter account got its key while on Pro, then downgraded. */
async function seed(store: KeyStore): Promise<{ keys: DemoKeys; accounts: { getPlan(id: string): string | null } }> {
  const plans = new Map([
    ["acc_pro", "pro"],
    ["acc_starter", "pro"],
  ]);
  const accounts = { getPlan: (id: string): string | null => plans.get(id) ?? null };
  const manager = createKeyManager({ store, accounts });
  const admin = { id: "usr_admin", admin: true };
  const pro = await manager.create({ accountId: "acc_pro", actor: admin, name: "Production", environment: "prod" });
  const readOnly = await manager.create({
    accountId: "acc_pro",
    actor: admin,
    name: "Reporting dashboard",
    environment: "prod",
    permissions: "read-only",
  });
  const starter = await manager.create({ accountId: "acc_starter", actor: admin, name: "Old integration", environment: "prod" });
  plans.set("acc_starter", "starter"); // downgraded: its key stays valid but loses API access
  return { keys: { pro: pro.key, readOnly: readOnly.key, starter: starter.key }, accounts };
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
@fluenzr/api-keys demo: a ${name} API on ${url}  (other frameworks: --framework express|fastify|hono)

Keys, generated now and shown only this once (the store keeps only their hashes):
  export PRO_KEY=${keys.pro}        # acc_pro (Pro plan), all permissions
  export READONLY_KEY=${keys.readOnly}   # acc_pro, read-only
  export STARTER_KEY=${keys.starter}    # acc_starter (downgraded to Starter)

Paste the exports, then try:

  # 200: a valid key
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
      "self-check": { type: "boolean", default: false },
    },
  });
  const framework = values.framework as Framework;
  if (!["express", "fastify", "hono"].includes(framework)) {
    console.error(`Unknown framework "${values.framework}": use express, fastify or hono.`);
    process.exit(2);
  }
  const store = await createDemoStore();
  const { keys, accounts } = await seed(store);
  const auth = createApiKeyAuth({ store, accounts, environment: "prod", onEvent: logEvent });
  const server = await listen(framework, auth, Number(values.port));
  const url = `http://127.0.0.1:${server.port}`;
  printGuide(framework, url, keys);

  const stop = async (code: number): Promise<never> => {
    await server.close();
    await auth.close();
    process.exit(code);
  };
  if (values["self-check"]) {
    const ok = await selfCheck(url, keys);
    await stop(ok ? 0 : 1);
  }
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));
}

await main();

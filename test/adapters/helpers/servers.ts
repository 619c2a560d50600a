/**
 * The same small API on every framework, served on 127.0.0.1 with a random port:
 * GET/POST/HEAD/DELETE /v1/contacts (protected; answers the key id), GET /health (left open),
 * GET /down/contacts (protected by an authenticator whose store is down).
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import express5 from "express";
import express4 from "express4";
import Fastify from "fastify";
import { Hono } from "hono";
import type { ApiKeyAuth } from "../../../src/index.js";
import { apiKeyAuth as expressAuth } from "../../../src/adapters/express/index.js";
import { apiKeyAuth as fastifyAuth } from "../../../src/adapters/fastify/index.js";
import { apiKeyAuth as honoAuth, type ApiKeyAuthEnv } from "../../../src/adapters/hono/index.js";

export type AdapterName = "express5" | "express4" | "fastify" | "hono";
export const ADAPTERS: readonly AdapterName[] = ["express5", "express4", "fastify", "hono"];

export interface RunningServer {
  port: number;
  /** The Node HTTP server underneath (for its limits, such as `maxHeadersCount`). */
  server: Server;
  close(): Promise<void>;
}

export interface AppAuth {
  auth: ApiKeyAuth;
  downAuth: ApiKeyAuth;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const ready = (): void => resolve((server.address() as AddressInfo).port);
    if (server.listening) ready();
    else server.once("listening", ready);
  });
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

/** The Express app (4 or 5: the adapter is the same). */
export function createExpressApp(expressModule: typeof express5, { auth, downAuth }: AppAuth): ReturnType<typeof express5> {
  const app = expressModule();
  const answer = (req: express5.Request, res: express5.Response): void => {
    res.json({ keyId: req.apiKey?.id ?? null });
  };
  // Mounted first, so /down requests meet only the authenticator whose store is down.
  const down = expressModule.Router();
  down.use(expressAuth(downAuth));
  down.get("/contacts", answer);
  app.use("/down", down);
  app.use(expressAuth(auth, { skip: (req) => req.path === "/health" }));
  app.get("/health", (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/v1/contacts", answer);
  app.post("/v1/contacts", answer);
  app.delete("/v1/contacts", answer);
  return app;
}

/** The Fastify app: the route config opt-out leaves /health open. */
export async function createFastifyApp({ auth, downAuth }: AppAuth): Promise<ReturnType<typeof Fastify>> {
  const fastify = Fastify();
  await fastify.register(async (api) => {
    await api.register(fastifyAuth, { auth });
    api.get("/health", { config: { apiKeyAuth: false } }, async () => ({ ok: true }));
    const answer = async (request: { apiKey: { id: string } | null }): Promise<{ keyId: string | null }> => ({
      keyId: request.apiKey?.id ?? null,
    });
    api.get("/v1/contacts", answer);
    api.post("/v1/contacts", answer);
    api.delete("/v1/contacts", answer);
    // Any path under /v1/files/ (for paths with odd escapes; the other frameworks check every path).
    api.get("/v1/files/*", answer);
  });
  await fastify.register(
    async (down) => {
      await down.register(fastifyAuth, { auth: downAuth });
      down.get("/contacts", async (request) => ({ keyId: request.apiKey?.id ?? null }));
    },
    { prefix: "/down" },
  );
  return fastify;
}

/** The Hono app: /health is outside the protected paths. */
export function createHonoApp({ auth, downAuth }: AppAuth): Hono<ApiKeyAuthEnv> {
  const app = new Hono<ApiKeyAuthEnv>();
  app.get("/health", (c) => c.json({ ok: true }));
  app.use("/v1/*", honoAuth(auth));
  app.use("/down/*", honoAuth(downAuth));
  for (const path of ["/v1/contacts", "/down/contacts"]) {
    app.on(["GET", "POST", "DELETE"], path, (c) => c.json({ keyId: c.get("apiKey").id }));
  }
  return app;
}

/** Start one framework's app over real HTTP on 127.0.0.1. */
export async function startServer(name: AdapterName, appAuth: AppAuth): Promise<RunningServer> {
  if (name === "express5" || name === "express4") {
    const app = createExpressApp(name === "express5" ? express5 : express4, appAuth);
    const server = app.listen(0, "127.0.0.1");
    return { port: await listen(server), server, close: closer(server) };
  }
  if (name === "fastify") {
    const fastify = await createFastifyApp(appAuth);
    await fastify.listen({ port: 0, host: "127.0.0.1" });
    return { port: (fastify.server.address() as AddressInfo).port, server: fastify.server, close: () => fastify.close() };
  }
  const server = serve({ fetch: createHonoApp(appAuth).fetch, port: 0, hostname: "127.0.0.1" }) as Server;
  return { port: await listen(server), server, close: closer(server) };
}

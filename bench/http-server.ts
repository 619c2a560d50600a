/**
 * The server side of `npm run bench:http`, run as a child process per framework. It serves the same
 * tiny JSON route four ways: /none (no authentication), /empty (one middleware that only passes
 * the request on: what the framework charges for any middleware), /ours (this package's adapter),
 * /peer (the framework's usual bearer/API-key middleware), and reports its own CPU time over IPC
 * so the parent can charge each round's CPU to the server alone (autocannon runs in the parent).
 */
import { hash } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import bearerAuthFastify from "@fastify/bearer-auth";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { bearerAuth as bearerAuthHono } from "hono/bearer-auth";
import passport from "passport";
import { HeaderAPIKeyStrategy } from "passport-headerapikey";
import { createApiKeyAuth, createKeyManager, generateApiKey, MemoryKeyStore } from "../src/index.js";
import { apiKeyAuth as expressAuth } from "../src/adapters/express/index.js";
import { apiKeyAuth as fastifyAuth } from "../src/adapters/fastify/index.js";
import { apiKeyAuth as honoAuth } from "../src/adapters/hono/index.js";

export type BenchFramework = "express" | "fastify" | "hono";

/** Messages from the parent. */
export type ParentMessage = { type: "cpu" } | { type: "stop" };
/** Messages to the parent. */
export type ChildMessage =
  | { type: "ready"; port: number; validKey: string; invalidKey: string }
  | { type: "cpu"; user: number; system: number };

const PAYLOAD = { hello: "world" };

// The "hash only" floor: a middleware that does nothing but Node's one-shot SHA-256 of the presented
// token (what any scheme that stores only hashes pays at least), then goes on.
let hashSink = 0;
const hashToken = (authorization: string | undefined): void => {
  hashSink += hash("sha256", String(authorization).slice(7), "hex").length;
};

async function start(framework: BenchFramework): Promise<void> {
  const store = new MemoryKeyStore();
  const accounts = { getPlan: (): string => "pro" };
  const manager = createKeyManager({ store, accounts });
  const { key } = await manager.create({ accountId: "acc_bench", actor: { id: "usr_1", admin: true }, name: "Bench", environment: "prod" });
  // Well-formed with a valid checksum but not stored: the most expensive refusal (hash + lookup).
  const invalidKey = generateApiKey({ environment: "prod" }).key;
  const auth = createApiKeyAuth({ store, accounts });

  let server: Server;
  if (framework === "express") {
    passport.use(
      new HeaderAPIKeyStrategy({ header: "Authorization", prefix: "Bearer " }, false, (apiKey, done) => {
        done(null, apiKey === key ? { id: "acc_bench" } : false);
      }),
    );
    const app = express();
    const send = (_req: express.Request, res: express.Response): void => {
      res.json(PAYLOAD);
    };
    app.get("/none", send);
    app.get("/empty", (_req, _res, next) => next(), send);
    app.get("/hash", (req, _res, next) => {
      hashToken(req.headers.authorization);
      next();
    }, send);
    app.get("/ours", expressAuth(auth), send);
    app.get("/peer", passport.initialize(), passport.authenticate("headerapikey", { session: false }), send);
    server = app.listen(0, "127.0.0.1");
  } else if (framework === "fastify") {
    const fastify = Fastify({ logger: false });
    const send = async (): Promise<typeof PAYLOAD> => PAYLOAD;
    await fastify.register(async (none) => {
      none.get("/none", send);
    });
    await fastify.register(async (empty) => {
      empty.addHook("onRequest", (_request, _reply, done) => done());
      empty.get("/empty", send);
    });
    await fastify.register(async (hashed) => {
      hashed.addHook("onRequest", (request, _reply, done) => {
        hashToken(request.headers.authorization);
        done();
      });
      hashed.get("/hash", send);
    });
    await fastify.register(async (ours) => {
      await ours.register(fastifyAuth, { auth });
      ours.get("/ours", send);
    });
    await fastify.register(async (peer) => {
      await peer.register(bearerAuthFastify, { keys: new Set([key]) });
      peer.get("/peer", send);
    });
    await fastify.listen({ port: 0, host: "127.0.0.1" });
    server = fastify.server;
  } else {
    const app = new Hono();
    app.get("/none", (c) => c.json(PAYLOAD));
    app.get("/empty", async (_c, next) => {
      await next();
    }, (c) => c.json(PAYLOAD));
    app.get("/hash", async (c, next) => {
      hashToken(c.req.header("authorization"));
      await next();
    }, (c) => c.json(PAYLOAD));
    app.get("/ours", honoAuth(auth), (c) => c.json(PAYLOAD));
    app.get("/peer", bearerAuthHono({ token: key }), (c) => c.json(PAYLOAD));
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
  }
  if (!server.listening) await new Promise((resolve) => server.once("listening", resolve));

  const reply = (message: ChildMessage): void => {
    process.send?.(message);
  };
  process.on("message", (message: ParentMessage) => {
    if (message.type === "cpu") {
      const { user, system } = process.cpuUsage();
      reply({ type: "cpu", user, system });
    } else {
      server.close();
      if (hashSink === -1) console.log(hashSink);
      void auth.close().then(() => process.exit(0));
    }
  });
  reply({ type: "ready", port: (server.address() as AddressInfo).port, validKey: key, invalidKey });
}

const framework = process.argv[2] as BenchFramework;
if (!["express", "fastify", "hono"].includes(framework)) {
  console.error("usage: tsx bench/http-server.ts express|fastify|hono");
  process.exit(2);
}
await start(framework);

/**
 * Over real HTTP, beyond the header table: HEAD refusals, one connection carrying refusals and
 * unread request bodies, user callbacks that are async and fail, and request targets in absolute
 * form. Express 5, Express 4, Fastify and Hono (on @hono/node-server) must answer alike
 * (DESIGN §5) and nothing a client sends may crash or desynchronise the server (DESIGN §9).
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import express5 from "express";
import express4 from "express4";
import Fastify from "fastify";
import { Hono } from "hono";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApiKeyAuth, MemoryKeyStore, type ApiKeyAuth, type ApiKeyAuthEvent } from "../../src/index.js";
import { apiKeyAuth as expressAuth } from "../../src/adapters/express/index.js";
import { apiKeyAuth as fastifyAuth } from "../../src/adapters/fastify/index.js";
import { apiKeyAuth as honoAuth, type ApiKeyAuthEnv } from "../../src/adapters/hono/index.js";
import { createFixture, type Fixture } from "./helpers/fixture.js";
import { EXPECTED } from "./helpers/header-cases.js";
import { rawExchange, type RawResponse } from "./helpers/raw-http.js";
import { ADAPTERS, startServer, type AdapterName, type RunningServer } from "./helpers/servers.js";

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});

/** One request's bytes; `Connection: close` only when asked (the last request of a connection). */
function request(method: string, path: string, lines: readonly string[], options: { close?: boolean; body?: string } = {}): string {
  const head = [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", ...(options.close === true ? ["Connection: close"] : []), ...lines];
  return `${head.join("\r\n")}\r\n\r\n${options.body ?? ""}`;
}

const bearer = (key: string): string => `Authorization: Bearer ${key}`;
/** The last request of every exchange: a valid key, so the connection must still work. */
const closingOk = (): string => request("GET", "/v1/contacts", [bearer(fixture.keys.pro)], { close: true });

function expectAccepted(res: RawResponse | undefined): void {
  expect(res?.status).toBe(200);
  expect(JSON.parse(res?.body ?? "null")).toEqual({ keyId: fixture.ids.pro });
}

describe.each(ADAPTERS)("%s over HTTP: HEAD and keep-alive", (adapter) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(adapter, fixture);
  });
  afterAll(async () => {
    await server.close();
  });

  // RFC 9110 §9.3.2: a HEAD answer has no body, and the header fields a GET would get.
  it.each([
    ["no key", "/v1/contacts", [], "missing"],
    ["`Bearer` alone", "/v1/contacts", ["Authorization: Bearer"], "malformed"],
    ["Starter-plan account", "/v1/contacts", ["starter"], "plan"],
    ["store down", "/down/contacts", ["pro"], "unavailable"],
  ] as const)("a refused HEAD (%s) answers the GET's status and headers, no body; the connection goes on", async (_name, path, spec, outcome) => {
    const lines = spec.map((l) => (l === "starter" || l === "pro" ? bearer(fixture.keys[l]) : l));
    const bytes = Buffer.from(request("HEAD", path, lines) + request("GET", path, lines) + closingOk(), "latin1");
    const { responses, rest } = await rawExchange(server.port, bytes, [true]);
    expect(responses).toHaveLength(3);
    const [head, get] = responses as [RawResponse, RawResponse];
    expect(get.status).toBe(EXPECTED[outcome].status);
    expect(head.status).toBe(get.status);
    expect(head.body).toBe("");
    for (const name of ["content-type", "content-length", "www-authenticate", "retry-after"]) {
      expect([name, head.headers[name]]).toEqual([name, get.headers[name]]);
    }
    expect(head.headers["content-length"]).toBe(String(Buffer.byteLength(get.body)));
    expectAccepted(responses[2]);
    expect(rest).toBe("");
  });

  it("answers every refusal on one connection in order, then a valid request (pipelined)", async () => {
    const k = fixture.keys;
    const bytes = Buffer.from(
      request("GET", "/v1/contacts", []) +
        request("GET", "/v1/contacts", [bearer(k.unknown)]) +
        request("GET", "/v1/contacts", [bearer(k.starter)]) +
        request("DELETE", "/v1/contacts", [bearer(k.readOnly)]) +
        request("GET", "/down/contacts", [bearer(k.pro)]) +
        closingOk(),
      "latin1",
    );
    const { responses, rest } = await rawExchange(server.port, bytes);
    expect(responses.map((r) => r.status)).toEqual([401, 401, 403, 403, 503, 200]);
    expect(responses.slice(0, 5).map((r) => JSON.parse(r.body).error.code)).toEqual([
      "UNAUTHORIZED",
      "UNAUTHORIZED",
      "FORBIDDEN",
      "FORBIDDEN",
      "SERVICE_UNAVAILABLE",
    ]);
    expectAccepted(responses[5]);
    expect(rest).toBe("");
  });

  it("skips the unread body of a refused POST (1 MB, or chunked) and answers the next request", async () => {
    const big = "x".repeat(1 << 20);
    const chunked = `${(256 * 1024).toString(16)}\r\n${"y".repeat(256 * 1024)}\r\n0\r\n\r\n`;
    const json = "Content-Type: application/json";
    const bytes = Buffer.from(
      request("POST", "/v1/contacts", [json, `Content-Length: ${big.length}`], { body: big }) +
        request("POST", "/v1/contacts", [json, "Transfer-Encoding: chunked"], { body: chunked }) +
        request("POST", "/v1/contacts", [bearer(fixture.keys.readOnly), json, "Content-Length: 7"], { body: '{"a":1}' }) +
        closingOk(),
      "latin1",
    );
    const { responses, rest } = await rawExchange(server.port, bytes, [], 10_000);
    expect(responses.map((r) => r.status)).toEqual([401, 401, 403, 200]);
    expectAccepted(responses[3]);
    expect(rest).toBe("");
  });
});

// Node keeps at most `maxHeadersCount` header lines of a request (1000 by default) and drops the
// rest without a word: an Authorization line past that point is never seen by the framework.
describe.each(ADAPTERS)("%s over HTTP: a request with more header lines than Node keeps", (adapter) => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startServer(adapter, fixture);
  });
  afterEach(async () => {
    await server.close();
  });
  const fillers = (n: number): string[] => Array.from({ length: n }, (_, i) => `X-Filler-${i}: v`);
  const send = async (lines: string[]): Promise<RawResponse | undefined> =>
    (await rawExchange(server.port, Buffer.from(request("GET", "/v1/contacts", lines, { close: true }), "latin1"))).responses[0];
  const expectMalformed = (res: RawResponse | undefined): void => {
    expect(res?.status).toBe(401);
    expect(res?.headers["www-authenticate"]).toBe(EXPECTED.malformed.challenge);
  };

  it("two Authorization lines past Node's default limit are refused as malformed, not judged on the one kept", async () => {
    const k = fixture.keys;
    expectMalformed(await send([...fillers(1021), bearer(k.pro), bearer(k.starter)]));
    // Where the two lines fit under the limit, they are seen and refused as two.
    expectMalformed(await send([...fillers(900), bearer(k.pro), bearer(k.starter)]));
  });

  it("a valid key in a request cut at the limit is refused; under the limit it is accepted", async () => {
    expectMalformed(await send([...fillers(1021), bearer(fixture.keys.pro)]));
    expectAccepted(await send([...fillers(500), bearer(fixture.keys.pro)]));
  });

  it("follows the server's own maxHeadersCount: a lower limit, and none at all (0)", async () => {
    server.server.maxHeadersCount = 40;
    expectMalformed(await send([...fillers(50), bearer(fixture.keys.pro)]));
    expectAccepted(await send([...fillers(10), bearer(fixture.keys.pro)]));
    server.server.maxHeadersCount = 0;
    expectAccepted(await send([...fillers(1021), bearer(fixture.keys.pro)]));
    expectMalformed(await send([...fillers(1021), bearer(fixture.keys.pro), bearer(fixture.keys.starter)]));
  });

  it("a limit under 32 lines: Node keeps 31 lines of a longer request, and a second Authorization line past them is not judged on the first", async () => {
    server.server.maxHeadersCount = 20;
    // 43 lines: the key, 40 fillers, a second Authorization line that Node drops.
    expectMalformed(await send([bearer(fixture.keys.pro), ...fillers(40), bearer(fixture.keys.starter)]));
    // A short request is never cut, whatever the limit.
    expectAccepted(await send([...fillers(10), bearer(fixture.keys.pro)]));
  });
});

describe.each(ADAPTERS)("%s over HTTP: the event path of a request target in absolute form", (adapter) => {
  it("is the path alone: no scheme, host or user:password, the same on every framework", async () => {
    const events: ApiKeyAuthEvent[] = [];
    const auth = createApiKeyAuth({ store: new MemoryKeyStore(), onEvent: (e) => events.push(e) });
    const server = await startServer(adapter, { auth, downAuth: fixture.downAuth });
    try {
      const target = `http://admin:hunter2@127.0.0.1/v1/contacts?page=2`;
      const { responses } = await rawExchange(server.port, Buffer.from(request("GET", target, [], { close: true }), "latin1"));
      expect(responses[0]?.status).toBe(401);
      expect(events.map((e) => e.path)).toEqual(["/v1/contacts"]);
    } finally {
      await server.close();
    }
  });

  it("keeps escapes of separators and control characters as the client wrote them (no line breaks forged into logs)", async () => {
    const events: ApiKeyAuthEvent[] = [];
    const auth = createApiKeyAuth({ store: new MemoryKeyStore(), onEvent: (e) => events.push(e) });
    const server = await startServer(adapter, { auth, downAuth: fixture.downAuth });
    try {
      const target = "/v1/files/a%0D%0AFAKE%20LOG%20LINE%00%1B%C3%A9%2F%61?q=1";
      const { responses } = await rawExchange(server.port, Buffer.from(request("GET", target, [], { close: true }), "latin1"));
      expect(responses[0]?.status).toBe(401);
      // Escapes of letters, digits and -._~ are read (%61 is "a"); every other escape stays.
      expect(events.map((e) => e.path)).toEqual(["/v1/files/a%0D%0AFAKE%20LOG%20LINE%00%1B%C3%A9%2Fa"]);
    } finally {
      await server.close();
    }
  });
});

/** A minimal app: `/v1/contacts` behind the adapter, with the options under test. */
async function startMinimal(
  adapter: AdapterName,
  auth: ApiKeyAuth,
  options: { skip?: () => boolean; getIp?: () => string | undefined },
): Promise<RunningServer> {
  const listening = (server: Server): Promise<RunningServer> =>
    new Promise((resolve) => {
      const ready = (): void =>
        resolve({
          port: (server.address() as AddressInfo).port,
          server,
          close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
        });
      if (server.listening) ready();
      else server.once("listening", ready);
    });
  if (adapter === "express5" || adapter === "express4") {
    const app = (adapter === "express5" ? express5 : express4)();
    app.use(expressAuth(auth, { skip: options.skip }));
    app.get("/v1/contacts", (req, res) => { res.json({ keyId: req.apiKey?.id ?? null }); });
    return listening(app.listen(0, "127.0.0.1"));
  }
  if (adapter === "fastify") {
    const fastify = Fastify();
    await fastify.register(fastifyAuth, { auth, skip: options.skip });
    fastify.get("/v1/contacts", async (request) => ({ keyId: request.apiKey?.id ?? null }));
    await fastify.listen({ port: 0, host: "127.0.0.1" });
    return { port: (fastify.server.address() as AddressInfo).port, server: fastify.server, close: () => fastify.close() };
  }
  const app = new Hono<ApiKeyAuthEnv>();
  app.use("/v1/*", honoAuth(auth, options));
  app.get("/v1/contacts", (c) => c.json({ keyId: c.get("apiKey")?.id ?? null }));
  return listening(serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server);
}

describe.each(ADAPTERS)("%s over HTTP: async user callbacks that fail", (adapter) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  beforeEach(() => {
    unhandled.length = 0;
    process.on("unhandledRejection", onUnhandled);
  });
  afterEach(() => {
    process.off("unhandledRejection", onUnhandled);
  });

  // `async (event) => { await log(event) }` is a valid `onEvent` for TypeScript (a function
  // returning void); skip and getIp written as async functions reach the adapters from JavaScript.
  const failing = (what: string) => async (): Promise<never> => {
    throw new Error(`${what} failed`);
  };

  // getIp is a Hono option only.
  const callbacks = adapter === "hono" ? (["onEvent", "skip", "getIp"] as const) : (["onEvent", "skip"] as const);
  it.each(callbacks)("an async %s that rejects: same answers, no unhandled rejection", async (callback) => {
    // With events on, so that the adapters' ip, user agent and path getters run.
    const auth = createApiKeyAuth({ store: fixture.store, onEvent: callback === "onEvent" ? failing("event sink") : () => {} });
    const options = { [callback]: failing(callback) as unknown as () => never };
    const server = await startMinimal(adapter, auth, callback === "onEvent" ? {} : options);
    try {
      const bytes = Buffer.from(request("GET", "/v1/contacts", []) + closingOk(), "latin1");
      const { responses, rest } = await rawExchange(server.port, bytes);
      // An async skip answers a promise, never `true`: the route stays protected.
      expect(responses.map((r) => r.status)).toEqual([401, 200]);
      expect(responses[0]?.headers["www-authenticate"]).toBe(EXPECTED.missing.challenge);
      expect(rest).toBe("");
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe.each(ADAPTERS)("%s over HTTP: the client's address in events when the answer waits for the store", (adapter) => {
  it("a client that hangs up before the store answers still has its address in the event (bursts by address need it)", async () => {
    const events: ApiKeyAuthEvent[] = [];
    // A store that takes 50 ms to answer: the client is gone by then.
    class SlowStore extends MemoryKeyStore {
      override async getByHash(hash: string) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return super.getByHash(hash);
      }
    }
    const auth = createApiKeyAuth({ store: new SlowStore(), onEvent: (e) => events.push(e) });
    const server = await startServer(adapter, { auth, downAuth: fixture.downAuth });
    try {
      const { createConnection } = await import("node:net");
      const guess = `Bearer ${fixture.keys.unknown}`;
      await new Promise<void>((resolve, reject) => {
        const socket = createConnection(server.port, "127.0.0.1", () => {
          socket.end(`GET /v1/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: ${guess}\r\n\r\n`, () => {
            socket.destroy(); // hang up without reading the answer
            resolve();
          });
        });
        socket.on("error", reject);
      });
      for (let i = 0; i < 50 && events.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(events.map((e) => [e.reason, e.ip])).toEqual([["unknown", "127.0.0.1"]]);
    } finally {
      await server.close();
    }
  });
});

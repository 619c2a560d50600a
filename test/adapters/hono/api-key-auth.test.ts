/**
 * Hono adapter rules beyond the shared table: repeated Authorization lines (raw lines on
 * @hono/node-server, joined by Fetch `Headers` elsewhere: refused either way), skip, getIp,
 * options checked at setup, and the 503 envelope when the authenticator misbehaves.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApiKeyAuth, isApiKeyError, MemoryKeyStore, type ApiKeyAuth, type ApiKeyAuthEvent } from "../../../src/index.js";
import { apiKeyAuth, type ApiKeyAuthEnv, type HonoApiKeyAuthOptions } from "../../../src/adapters/hono/index.js";
import { createFixture, type Fixture } from "../helpers/fixture.js";
import { rawRequest } from "../helpers/raw-http.js";
import { garbageAuth, throwingResultAuth, fickleResultAuth, notAPromiseAuth, rejectingAuth, throwingAuth, UNAVAILABLE_BODY } from "../helpers/misbehaving-auth.js";

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});

const INVALID_REQUEST = 'Bearer realm="api", error="invalid_request"';
const UNAUTHORIZED_BODY = { success: false, error: { code: "UNAUTHORIZED", message: "Invalid or missing API key" } };

function listening(server: Server): Promise<number> {
  return new Promise((resolve) => {
    if (server.listening) resolve((server.address() as AddressInfo).port);
    else server.once("listening", () => resolve((server.address() as AddressInfo).port));
  });
}

function appWith(auth: ApiKeyAuth, options?: HonoApiKeyAuthOptions): Hono<ApiKeyAuthEnv> {
  const app = new Hono<ApiKeyAuthEnv>();
  app.use("/v1/*", apiKeyAuth(auth, options));
  app.get("/v1/me", (c) => c.json({ keyId: c.get("apiKey")?.id ?? null }));
  return app;
}

describe("repeated Authorization lines are refused (DESIGN §5: two headers are malformed)", () => {
  it("the core refuses the value Fetch Headers make of two lines (joined with a comma)", async () => {
    const joined = new Headers();
    joined.append("authorization", `Bearer ${fixture.keys.pro}`);
    joined.append("authorization", `Bearer ${fixture.keys.pro}`);
    expect(joined.get("authorization")).toBe(`Bearer ${fixture.keys.pro}, Bearer ${fixture.keys.pro}`);
    const result = await fixture.auth.authenticate({ authorization: joined.get("authorization") ?? undefined, method: "GET" });
    expect(result.ok === false && result.reason).toBe("malformed");
  });

  it("on any runtime: two lines in the Request give 401 invalid_request", async () => {
    const headers = new Headers();
    headers.append("authorization", `Bearer ${fixture.keys.pro}`);
    headers.append("authorization", `Bearer ${fixture.keys.pro}`);
    const res = await appWith(fixture.auth).request("/v1/me", { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(INVALID_REQUEST);
  });

  it("on @hono/node-server: two raw lines sent over a socket give 401 invalid_request", async () => {
    const server = serve({ fetch: appWith(fixture.auth).fetch, port: 0, hostname: "127.0.0.1" }) as Server;
    try {
      const port = await listening(server);
      const head = `GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
      const lines = `Authorization: Bearer ${fixture.keys.pro}\r\nauthorization: Bearer ${fixture.keys.pro}\r\n`;
      const res = await rawRequest(port, Buffer.from(`${head}${lines}\r\n`, "latin1"));
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toBe(INVALID_REQUEST);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("refusals keep the headers other middleware set (as on Express and Fastify)", () => {
  function layeredApp(): Hono<ApiKeyAuthEnv> {
    const app = new Hono<ApiKeyAuthEnv>();
    app.use(requestId({ generator: () => "req-42" })); // c.header() before next()
    app.use(secureHeaders()); // headers added after next()
    app.use("/v1/*", apiKeyAuth(fixture.auth));
    app.get("/v1/me", (c) => c.json({ keyId: c.get("apiKey").id }));
    return app;
  }

  it("app.request: X-Request-Id and the security headers are on the 401, with our own headers", async () => {
    for (const method of ["GET", "HEAD"]) {
      const res = await layeredApp().request("/v1/me", { method });
      expect(res.status).toBe(401);
      expect(res.headers.get("x-request-id")).toBe("req-42");
      expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');
      expect(res.headers.get("content-type")).toBe("application/json");
      if (method === "GET") expect(await res.json()).toEqual(UNAUTHORIZED_BODY);
    }
  });

  it("with cors() before it, as the guide shows: the preflight is answered, refusals carry the CORS headers", async () => {
    const app = new Hono<ApiKeyAuthEnv>();
    app.use("/v1/*", cors({ origin: "https://tools.example" }));
    app.use("/v1/*", apiKeyAuth(fixture.auth));
    app.get("/v1/me", (c) => c.json({ keyId: c.get("apiKey").id }));
    const origin = { origin: "https://tools.example" };
    const preflight = await app.request("/v1/me", { method: "OPTIONS", headers: { ...origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
    expect(preflight.status).toBe(204);
    const refused = await app.request("/v1/me", { headers: origin });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe("https://tools.example");
    expect(await refused.json()).toEqual(UNAUTHORIZED_BODY);
  });

  it("@hono/node-server over a socket, GET and HEAD alike", async () => {
    const server = serve({ fetch: layeredApp().fetch, port: 0, hostname: "127.0.0.1" }) as Server;
    try {
      const port = await listening(server);
      for (const method of ["GET", "HEAD"]) {
        const res = await rawRequest(port, Buffer.from(`${method} /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, "latin1"));
        expect(res.status).toBe(401);
        expect(res.headers["x-request-id"]).toBe("req-42");
        expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
        expect(res.headers["x-content-type-options"]).toBe("nosniff");
        expect(res.headers["www-authenticate"]).toBe('Bearer realm="api"');
        expect(res.headers["content-type"]).toBe("application/json");
        expect(res.headers["content-length"]).toBe(String(JSON.stringify(UNAUTHORIZED_BODY).length));
      }
      const ok = await rawRequest(
        port,
        Buffer.from(`GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${fixture.keys.pro}\r\nConnection: close\r\n\r\n`, "latin1"),
      );
      expect([ok.status, ok.headers["x-request-id"]]).toEqual([200, "req-42"]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("sub-requests on @hono/node-server (app.fetch(new Request(…), c.env))", () => {
  // The Node request in c.env is the outer one: a sub-request must be judged by its own header.
  async function batch(outer: string | undefined, requests: { method?: string; authorization?: string }[]) {
    const app = new Hono<ApiKeyAuthEnv>();
    app.use("/v1/*", apiKeyAuth(fixture.auth));
    app.on(["GET", "DELETE"], "/v1/me", (c) => c.json({ keyId: c.get("apiKey").id }));
    app.post("/batch", async (c) => {
      const out: { status: number; challenge: string | null; body: unknown }[] = [];
      for (const r of requests) {
        const headers: Record<string, string> = r.authorization === undefined ? {} : { authorization: r.authorization };
        const res = await app.fetch(new Request("http://localhost/v1/me", { method: r.method ?? "GET", headers }), c.env);
        out.push({ status: res.status, challenge: res.headers.get("www-authenticate"), body: await res.json() });
      }
      return c.json(out);
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
    try {
      const port = await listening(server);
      const res = await fetch(`http://127.0.0.1:${port}/batch`, {
        method: "POST",
        headers: outer === undefined ? {} : { authorization: outer },
      });
      return (await res.json()) as { status: number; challenge: string | null; body: unknown }[];
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it("a sub-request without a key is refused even when the outer request carries a valid one", async () => {
    const [none, garbage] = await batch(`Bearer ${fixture.keys.pro}`, [{}, { authorization: "Bearer flz_sk_garbage" }]);
    expect(none).toEqual({ status: 401, challenge: 'Bearer realm="api"', body: UNAUTHORIZED_BODY });
    expect(garbage?.status).toBe(401);
    expect(garbage?.challenge).toBe('Bearer realm="api", error="invalid_token"');
  });

  it("a sub-request's own key decides: its account, and its permissions", async () => {
    const [own, write] = await batch(`Bearer ${fixture.keys.pro}`, [
      { authorization: `Bearer ${fixture.keys.readOnly}` },
      { method: "DELETE", authorization: `Bearer ${fixture.keys.readOnly}` },
    ]);
    expect(own).toEqual({ status: 200, challenge: null, body: { keyId: fixture.ids.readOnly } });
    expect(write?.status).toBe(403);
  });

  it("a sub-request with a valid key passes when the outer request has none", async () => {
    const [own] = await batch(undefined, [{ authorization: `Bearer ${fixture.keys.pro}` }]);
    expect(own).toEqual({ status: 200, challenge: null, body: { keyId: fixture.ids.pro } });
  });
});

describe("request handling", () => {
  it("sets c.get('apiKey') for an accepted request", async () => {
    const res = await appWith(fixture.auth).request("/v1/me", { headers: { authorization: `Bearer ${fixture.keys.pro}` } });
    expect(await res.json()).toEqual({ keyId: fixture.ids.pro });
  });

  it("passes method, ip (getIp), user agent and path to the core", async () => {
    const events: ApiKeyAuthEvent[] = [];
    const auth = createApiKeyAuth({ store: new MemoryKeyStore(), onEvent: (e) => events.push(e) });
    const app = appWith(auth, { getIp: () => "198.51.100.7" });
    await app.request("/v1/me?api_key=flz_sk_secret", { method: "GET", headers: { "user-agent": "probe/1" } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ method: "GET", ip: "198.51.100.7", userAgent: "probe/1", path: "/v1/me", reason: "missing" });
  });

  it("reads the socket address on @hono/node-server by default", async () => {
    const events: ApiKeyAuthEvent[] = [];
    const auth = createApiKeyAuth({ store: new MemoryKeyStore(), onEvent: (e) => events.push(e) });
    const env = { incoming: { rawHeaders: [], socket: { remoteAddress: "203.0.113.9" } } };
    await appWith(auth).fetch(new Request("http://localhost/v1/me"), env);
    expect(events[0]?.ip).toBe("203.0.113.9");
  });

  it("leaves requests open with skip, and keeps them protected if skip throws", async () => {
    const open = appWith(fixture.auth, { skip: (c) => c.req.path === "/v1/me" });
    expect((await open.request("/v1/me")).status).toBe(200);
    const closed = appWith(fixture.auth, { skip: () => { throw new Error("bad predicate"); } });
    expect((await closed.request("/v1/me")).status).toBe(401);
  });

  it.each([
    ["throws", throwingAuth],
    ["rejects", rejectingAuth],
    ["resolves with a non-result", garbageAuth],
    ["resolves with a result whose fields throw when read", throwingResultAuth],
    ["resolves with a result that changes between reads", fickleResultAuth],
    ["returns a non-promise", notAPromiseAuth],
  ] as const)("answers the 503 envelope when the authenticator %s", async (_how, make) => {
    const res = await appWith(make()).request("/v1/me", { headers: { authorization: `Bearer ${fixture.keys.pro}` } });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.text()).toBe(UNAVAILABLE_BODY);
  });

  it("refuses bad options at setup with INVALID_OPTIONS naming the option", () => {
    for (const [call, field] of [
      [() => apiKeyAuth({} as never), "auth"],
      [() => apiKeyAuth(fixture.auth, { skip: 1 as never }), "skip"],
      [() => apiKeyAuth(fixture.auth, { getIp: "x" as never }), "getIp"],
      [() => apiKeyAuth(fixture.auth, { hook: "x" } as never), "hook"],
      [() => apiKeyAuth(fixture.auth, ["/health"] as never), "options"],
    ] as const) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(isApiKeyError(error) && error.code === "INVALID_OPTIONS" && error.field === field).toBe(true);
    }
  });
});

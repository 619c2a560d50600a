/**
 * Express adapter rules beyond the shared table: options checked at setup, `req.apiKey`,
 * request facts for events, routes left open, and no escaping rejection on Express 4 or 5.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express5 from "express";
import express4 from "express4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKeyAuth, isApiKeyError, MemoryKeyStore, type ApiKeyAuthEvent } from "../../../src/index.js";
import { apiKeyAuth } from "../../../src/adapters/express/index.js";
import { createFixture, type Fixture } from "../helpers/fixture.js";
import { garbageAuth, throwingResultAuth, fickleResultAuth, notAPromiseAuth, rejectingAuth, throwingAuth, UNAVAILABLE_BODY } from "../helpers/misbehaving-auth.js";

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});

async function serve(app: ReturnType<typeof express5>): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("setup: bad options throw INVALID_OPTIONS naming the option", () => {
  it("refuses a missing authenticator", () => {
    const error = (() => {
      try {
        apiKeyAuth(undefined as never);
      } catch (e) {
        return e;
      }
    })();
    expect(isApiKeyError(error) && error.code === "INVALID_OPTIONS" && error.field === "auth").toBe(true);
  });
  it("refuses a skip that is not a function, and unknown options", () => {
    const auth = createApiKeyAuth({ store: new MemoryKeyStore() });
    expect(() => apiKeyAuth(auth, { skip: "/health" as never })).toThrow(/"skip"/);
    expect(() => apiKeyAuth(auth, { exclude: ["/health"] } as never)).toThrow(/"exclude"/);
    // A list of paths where the options go would open nothing: refused, not ignored.
    expect(() => apiKeyAuth(auth, ["/health"] as never)).toThrow(/"options": expected an options object/);
  });
});

describe.each([
  ["Express 5", express5],
  ["Express 4", express4],
] as const)("%s", (_name, expressModule) => {
  it("sets req.apiKey to the verified key, without hash or plaintext", async () => {
    const app = expressModule();
    app.use(apiKeyAuth(fixture.auth));
    app.get("/v1/me", (req, res) => {
      res.json(req.apiKey);
    });
    const server = await serve(app);
    try {
      const res = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${fixture.keys.pro}` } });
      const key = (await res.json()) as Record<string, unknown>;
      expect(key).toEqual({
        id: fixture.ids.pro,
        accountId: "acc_pro",
        name: "Test key",
        environment: "prod",
        permissions: "all",
        hint: expect.stringMatching(/^flz_sk_prod_…[A-Za-z0-9]{4}$/),
      });
      expect(JSON.stringify(key)).not.toContain(fixture.keys.pro);
    } finally {
      await server.close();
    }
  });

  it("passes method, ip, user agent and the path without its query to the core", async () => {
    const events: ApiKeyAuthEvent[] = [];
    const auth = createApiKeyAuth({ store: new MemoryKeyStore(), onEvent: (e) => events.push(e) });
    const app = expressModule();
    app.use("/v1", apiKeyAuth(auth));
    const server = await serve(app);
    try {
      await fetch(`${server.url}/v1/contacts?api_key=flz_sk_secret`, { method: "DELETE", headers: { "user-agent": "probe/1" } });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ method: "DELETE", ip: "127.0.0.1", userAgent: "probe/1", path: "/v1/contacts", reason: "missing" });
    } finally {
      await server.close();
    }
  });

  it("leaves routes open with skip, and keeps them protected if skip throws (fails closed)", async () => {
    const app = expressModule();
    app.use(apiKeyAuth(fixture.auth, { skip: (req) => req.path === "/health" }));
    app.use("/boom", apiKeyAuth(fixture.auth, { skip: () => { throw new Error("bad predicate"); } }));
    app.get("/health", (_req, res) => { res.send("up"); });
    app.get("/boom", (_req, res) => { res.send("open"); });
    const server = await serve(app);
    try {
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect((await fetch(`${server.url}/boom`)).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  it.each([
    ["throws", throwingAuth],
    ["rejects", rejectingAuth],
    ["resolves with a non-result", garbageAuth],
    ["resolves with a result whose fields throw when read", throwingResultAuth],
    ["resolves with a result that changes between reads", fickleResultAuth],
    ["returns a non-promise", notAPromiseAuth],
  ] as const)("answers the 503 envelope when the authenticator %s, with no unhandled rejection", async (_how, make) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    const app = expressModule();
    app.use(apiKeyAuth(make()));
    app.get("/v1/x", (_req, res) => { res.send("in"); });
    const server = await serve(app);
    try {
      const res = await fetch(`${server.url}/v1/x`, { headers: { authorization: `Bearer ${fixture.keys.pro}` } });
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("retry-after")).toBe("1");
      expect(await res.text()).toBe(UNAVAILABLE_BODY);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await server.close();
    }
  });
});

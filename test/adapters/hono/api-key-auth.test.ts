/**
 * Hono adapter rules beyond the shared table: repeated Authorization lines (raw lines on
 * @hono/node-server, joined by Fetch `Headers` elsewhere: refused either way), skip, getIp,
 * options checked at setup, and the 503 envelope when the authenticator misbehaves.
 */
import { Hono } from "hono";
import { beforeAll, describe, expect, it } from "vitest";
import { createApiKeyAuth, isApiKeyError, MemoryKeyStore, type ApiKeyAuth, type ApiKeyAuthEvent } from "../../../src/index.js";
import { apiKeyAuth, type ApiKeyAuthEnv, type HonoApiKeyAuthOptions } from "../../../src/adapters/hono/index.js";
import { createFixture, type Fixture } from "../helpers/fixture.js";
import { garbageAuth, notAPromiseAuth, rejectingAuth, throwingAuth, UNAVAILABLE_BODY } from "../helpers/misbehaving-auth.js";

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});

const INVALID_REQUEST = 'Bearer realm="api", error="invalid_request"';

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

  it("on @hono/node-server: the raw lines of the Node request are what the core sees", async () => {
    // Only the raw lines hold a second line here; the Fetch headers hold one valid line.
    const env = { incoming: { rawHeaders: ["Authorization", `Bearer ${fixture.keys.pro}`, "authorization", "Bearer x"] } };
    const req = new Request("http://localhost/v1/me", { headers: { authorization: `Bearer ${fixture.keys.pro}` } });
    const res = await appWith(fixture.auth).fetch(req, env);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(INVALID_REQUEST);
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

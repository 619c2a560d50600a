// Type tests: `c.get("apiKey")` is typed through the middleware's Variables.
import { Hono, type MiddlewareHandler } from "hono";
import { expectTypeOf, test } from "vitest";
import { createApiKeyAuth, MemoryKeyStore, type AuthenticatedApiKey } from "../../../src/index.js";
import { apiKeyAuth, type ApiKeyAuthEnv } from "../../../src/adapters/hono/index.js";

const auth = createApiKeyAuth({ store: new MemoryKeyStore() });

test("the middleware declares its Variables", () => {
  expectTypeOf(apiKeyAuth(auth)).toEqualTypeOf<MiddlewareHandler<ApiKeyAuthEnv>>();
});

test("c.get('apiKey') is typed on a route that uses the middleware", () => {
  new Hono().get("/v1/contacts", apiKeyAuth(auth), (c) => {
    expectTypeOf(c.get("apiKey")).toEqualTypeOf<AuthenticatedApiKey>();
    return c.json({ accountId: c.get("apiKey").accountId });
  });
});

test("c.get('apiKey') is typed after app.use on an app declared with ApiKeyAuthEnv", () => {
  const app = new Hono<ApiKeyAuthEnv>();
  app.use("/v1/*", apiKeyAuth(auth));
  app.get("/v1/contacts", (c) => {
    expectTypeOf(c.get("apiKey")).toEqualTypeOf<AuthenticatedApiKey>();
    return c.text("ok");
  });
});

test("options are checked by the compiler", () => {
  // @ts-expect-error getIp returns a string or undefined
  apiKeyAuth(auth, { getIp: () => 42 });
});

test("c.get('apiKey') is typed on a plain new Hono() after app.use (DESIGN §10), through ContextVariableMap", () => {
  const app = new Hono();
  app.use("/v1/*", apiKeyAuth(auth));
  app.get("/v1/contacts", (c) => {
    expectTypeOf(c.get("apiKey")).toEqualTypeOf<AuthenticatedApiKey>();
    return c.json({ accountId: c.get("apiKey").accountId });
  });
});

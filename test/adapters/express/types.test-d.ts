// Type tests: `req.apiKey` is typed by declaration merging on Express's Request.
import express, { type RequestHandler } from "express";
import { expectTypeOf, test } from "vitest";
import { createApiKeyAuth, MemoryKeyStore, type AuthenticatedApiKey } from "../../../src/index.js";
import { apiKeyAuth, type ExpressApiKeyAuthOptions } from "../../../src/adapters/express/index.js";

const auth = createApiKeyAuth({ store: new MemoryKeyStore() });

test("apiKeyAuth returns an Express RequestHandler", () => {
  expectTypeOf(apiKeyAuth(auth)).toMatchTypeOf<RequestHandler>();
  expectTypeOf(apiKeyAuth).parameter(1).toEqualTypeOf<ExpressApiKeyAuthOptions | undefined>();
});

test("req.apiKey is the verified key (or undefined on routes it does not guard)", () => {
  const app = express();
  app.use(apiKeyAuth(auth, { skip: (req) => req.path === "/health" }));
  app.get("/v1/contacts", (req, res) => {
    expectTypeOf(req.apiKey).toEqualTypeOf<AuthenticatedApiKey | undefined>();
    expectTypeOf(req.apiKey!.accountId).toEqualTypeOf<string>();
    expectTypeOf(req.apiKey!.permissions).toEqualTypeOf<"all" | "read-only">();
    res.json({});
  });
});

test("options are checked by the compiler", () => {
  // @ts-expect-error skip must be a predicate
  apiKeyAuth(auth, { skip: "/health" });
  // @ts-expect-error the authenticator is required
  apiKeyAuth();
});

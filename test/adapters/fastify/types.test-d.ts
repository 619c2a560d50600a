// Type tests: `request.apiKey` and the route opt-out are typed by module augmentation.
import Fastify from "fastify";
import { expectTypeOf, test } from "vitest";
import { createApiKeyAuth, MemoryKeyStore, type AuthenticatedApiKey } from "../../../src/index.js";
import { apiKeyAuth } from "../../../src/adapters/fastify/index.js";

const auth = createApiKeyAuth({ store: new MemoryKeyStore() });

test("register takes { auth } and request.apiKey is the verified key or null", async () => {
  const fastify = Fastify();
  await fastify.register(apiKeyAuth, { auth, hook: "onRequest", skip: (request) => request.url === "/health" });
  fastify.get("/health", { config: { apiKeyAuth: false } }, async () => "ok");
  fastify.get("/v1/contacts", async (request) => {
    expectTypeOf(request.apiKey).toEqualTypeOf<AuthenticatedApiKey | null>();
    return request.apiKey?.accountId;
  });
});

test("options are checked by the compiler", async () => {
  const fastify = Fastify();
  // @ts-expect-error auth is required
  await fastify.register(apiKeyAuth, {});
  // @ts-expect-error not a hook the plugin supports
  await fastify.register(apiKeyAuth, { auth, hook: "onSend" });
  // @ts-expect-error the route opt-out is a boolean
  fastify.get("/x", { config: { apiKeyAuth: "no" } }, async () => "x");
});

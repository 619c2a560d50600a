/**
 * Fastify adapter rules beyond the shared table (issue 3, STYLE: @fastify/bearer-auth's habits):
 * fastify-plugin metadata, onRequest by default so refused bodies are never parsed, route-config
 * opt-out, the caller's options object left unchanged, options checked at register.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { beforeAll, describe, expect, it } from "vitest";
import { createApiKeyAuth, isApiKeyError, MemoryKeyStore, type ApiKeyAuthEvent } from "../../../src/index.js";
import { apiKeyAuth, type FastifyApiKeyAuthOptions } from "../../../src/adapters/fastify/index.js";
import { createFixture, type Fixture } from "../helpers/fixture.js";
import { garbageAuth, throwingResultAuth, fickleResultAuth, notAPromiseAuth, rejectingAuth, throwingAuth, UNAVAILABLE_BODY } from "../helpers/misbehaving-auth.js";

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});

/** An app whose JSON parser counts the bodies it reads. */
async function appWith(options: FastifyApiKeyAuthOptions): Promise<{ fastify: FastifyInstance; parsed: () => number }> {
  const fastify = Fastify();
  let parsed = 0;
  fastify.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    parsed++;
    done(null, JSON.parse(body as string));
  });
  await fastify.register(apiKeyAuth, options);
  fastify.get("/health", { config: { apiKeyAuth: false } }, async (request) => ({ apiKey: request.apiKey }));
  fastify.post("/v1/contacts", async (request) => ({ keyId: request.apiKey?.id ?? null }));
  return { fastify, parsed: () => parsed };
}

describe("plugin shape", () => {
  it("is wrapped with fastify-plugin, named, for Fastify 5", () => {
    const meta = (apiKeyAuth as unknown as Record<symbol, { name: string; fastify: string }>)[Symbol.for("plugin-meta")];
    expect(meta).toMatchObject({ name: "@fluenzr/api-keys", fastify: "5.x" });
    expect((apiKeyAuth as unknown as Record<symbol, boolean>)[Symbol.for("skip-override")]).toBe(true);
  });

  it("leaves the caller's options object unchanged", async () => {
    const skip = (): boolean => false;
    const options = Object.freeze({ auth: fixture.auth, hook: "onRequest" as const, skip });
    const before = { ...options };
    const { fastify } = await appWith(options);
    await fastify.ready();
    expect({ ...options }).toEqual(before);
    expect(Object.keys(options)).toEqual(["auth", "hook", "skip"]);
    await fastify.close();
  });

  it("rejects bad options at register with INVALID_OPTIONS naming the option", async () => {
    for (const [options, field] of [
      [{}, "auth"],
      [{ auth: fixture.auth, hook: "onSend" }, "hook"],
      [{ auth: fixture.auth, skip: true }, "skip"],
      [{ auth: fixture.auth, realm: "x" }, "realm"],
      [{ auth: fixture.auth, hook: null }, "hook"],
      // `prefix` is ignored by Fastify for a plugin that shares its context: refused, not dropped
      [{ auth: fixture.auth, prefix: "/v1" }, "prefix"],
      // the authenticator itself where its options go
      [fixture.auth, "auth"],
      [[fixture.auth], "options"],
    ] as const) {
      const fastify = Fastify();
      const error = await fastify.register(apiKeyAuth, options as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isApiKeyError(error) && error.code === "INVALID_OPTIONS" && error.field === field).toBe(true);
    }
  });
});

describe("request handling", () => {
  it("checks at onRequest by default: the body of a refused request is never parsed", async () => {
    const { fastify, parsed } = await appWith({ auth: fixture.auth });
    const refused = await fastify.inject({ method: "POST", url: "/v1/contacts", payload: { a: 1 } });
    expect(refused.statusCode).toBe(401);
    expect(parsed()).toBe(0);
    const accepted = await fastify.inject({
      method: "POST",
      url: "/v1/contacts",
      payload: { a: 1 },
      headers: { authorization: `Bearer ${fixture.keys.pro}` },
    });
    expect(accepted.json()).toEqual({ keyId: fixture.ids.pro });
    expect(parsed()).toBe(1);
    await fastify.close();
  });

  it("can check in a later hook instead (preHandler: the body is parsed first)", async () => {
    const { fastify, parsed } = await appWith({ auth: fixture.auth, hook: "preHandler" });
    const refused = await fastify.inject({ method: "POST", url: "/v1/contacts", payload: { a: 1 } });
    expect(refused.statusCode).toBe(401);
    expect(parsed()).toBe(1);
    await fastify.close();
  });

  it("checks in preParsing too, before the body is read", async () => {
    const { fastify, parsed } = await appWith({ auth: fixture.auth, hook: "preParsing" });
    const refused = await fastify.inject({ method: "POST", url: "/v1/contacts", payload: { a: 1 } });
    expect(refused.statusCode).toBe(401);
    const accepted = await fastify.inject({
      method: "POST",
      url: "/v1/contacts",
      payload: { a: 1 },
      headers: { authorization: `Bearer ${fixture.keys.pro}` },
    });
    expect(accepted.statusCode).toBe(200);
    expect(parsed()).toBe(1);
    await fastify.close();
  });

  it("leaves a route open with config { apiKeyAuth: false }, where request.apiKey is null", async () => {
    const { fastify } = await appWith({ auth: fixture.auth });
    const res = await fastify.inject({ method: "GET", url: "/health" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ apiKey: null });
    await fastify.close();
  });

  it("leaves requests open with skip, and keeps them protected if skip throws", async () => {
    const open = await appWith({ auth: fixture.auth, skip: (request) => request.url === "/v1/contacts" });
    expect((await open.fastify.inject({ method: "POST", url: "/v1/contacts", payload: {} })).statusCode).toBe(200);
    await open.fastify.close();
    const closed = await appWith({ auth: fixture.auth, skip: () => { throw new Error("bad predicate"); } });
    expect((await closed.fastify.inject({ method: "POST", url: "/v1/contacts", payload: {} })).statusCode).toBe(401);
    await closed.fastify.close();
  });

  it("asks for a key before saying a route does not exist (no route probing without a key)", async () => {
    const { fastify } = await appWith({ auth: fixture.auth });
    expect((await fastify.inject({ url: "/v1/nowhere" })).statusCode).toBe(401);
    const known = await fastify.inject({ url: "/v1/nowhere", headers: { authorization: `Bearer ${fixture.keys.pro}` } });
    expect(known.statusCode).toBe(404);
    await fastify.close();
  });

  it("applies only to the encapsulated context that registers it", async () => {
    const fastify = Fastify();
    await fastify.register(async (api) => {
      await api.register(apiKeyAuth, { auth: fixture.auth });
      api.get("/v1/private", async () => "private");
    });
    fastify.get("/public", async (request) => ({ undecorated: request.apiKey === undefined }));
    const open = await fastify.inject({ url: "/public" });
    expect(open.statusCode).toBe(200);
    // Outside the context the plugin never runs nor decorates: undefined, as its type says.
    expect(open.json()).toEqual({ undecorated: true });
    expect((await fastify.inject({ url: "/v1/private" })).statusCode).toBe(401);
    await fastify.close();
  });

  it("in a prefixed context with its own not-found handler, unknown routes there ask for a key first (as the guide shows)", async () => {
    const fastify = Fastify();
    await fastify.register(
      async (api) => {
        await api.register(apiKeyAuth, { auth: fixture.auth });
        api.setNotFoundHandler((_request, reply) => {
          void reply.code(404).send({ success: false, error: { code: "NOT_FOUND", message: "Not found" } });
        });
        api.get("/contacts", async () => "contacts");
      },
      { prefix: "/v1" },
    );
    fastify.get("/health", async () => "ok");
    const withKey = { authorization: `Bearer ${fixture.keys.pro}` };
    expect((await fastify.inject({ url: "/health" })).statusCode).toBe(200);
    expect((await fastify.inject({ url: "/v1/contacts" })).statusCode).toBe(401);
    expect((await fastify.inject({ url: "/v1/nowhere" })).statusCode).toBe(401);
    expect((await fastify.inject({ method: "DELETE", url: "/v1/contacts" })).statusCode).toBe(401);
    expect((await fastify.inject({ url: "/v1/contacts", headers: withKey })).statusCode).toBe(200);
    expect((await fastify.inject({ url: "/v1/nowhere", headers: withKey })).statusCode).toBe(404);
    // Without that handler, Fastify's root not-found handler answers first (documented).
    const plain = Fastify();
    await plain.register(async (api) => {
      await api.register(apiKeyAuth, { auth: fixture.auth });
      api.get("/contacts", async () => "contacts");
    }, { prefix: "/v1" });
    expect((await plain.inject({ url: "/v1/nowhere" })).statusCode).toBe(404);
    await Promise.all([fastify.close(), plain.close()]);
  });

  it("passes method, ip, user agent and the path without its query to the core", async () => {
    const events: ApiKeyAuthEvent[] = [];
    const auth = createApiKeyAuth({ store: new MemoryKeyStore(), onEvent: (e) => events.push(e) });
    const { fastify } = await appWith({ auth });
    await fastify.inject({ method: "POST", url: "/v1/contacts?api_key=flz_sk_secret", headers: { "user-agent": "probe/1" }, remoteAddress: "203.0.113.9" });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ method: "POST", ip: "203.0.113.9", userAgent: "probe/1", path: "/v1/contacts", reason: "missing" });
    await fastify.close();
  });

  it.each([
    ["throws", throwingAuth],
    ["rejects", rejectingAuth],
    ["resolves with a non-result", garbageAuth],
    ["resolves with a result whose fields throw when read", throwingResultAuth],
    ["resolves with a result that changes between reads", fickleResultAuth],
    ["returns a non-promise", notAPromiseAuth],
  ] as const)("answers the 503 envelope when the authenticator %s", async (_how, make) => {
    const { fastify } = await appWith({ auth: make() });
    const res = await fastify.inject({ method: "POST", url: "/v1/contacts", payload: {}, headers: { authorization: `Bearer ${fixture.keys.pro}` } });
    expect(res.statusCode).toBe(503);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["retry-after"]).toBe("1");
    expect(res.body).toBe(UNAVAILABLE_BODY);
    await fastify.close();
  });
});

/**
 * How adapters run the authenticator: a ready answer from our own authenticator is used in the
 * same tick (so the framework's `next` is not deferred), anything pending is settled without
 * ever rejecting, and an authenticator that is not ours goes through `authenticate`.
 */
import express from "express";
import { describe, expect, it } from "vitest";
import { checkNow } from "../../src/auth/check-now.js";
import { apiKeyAuth } from "../../src/adapters/express/index.js";
import { FALLBACK_FAILURE, runAuth } from "../../src/adapters/shared/request-facts.js";
import { createApiKeyAuth, createKeyManager, MemoryKeyStore, type ApiKeyAuth, type ApiKeyRecord } from "../../src/index.js";

async function world(store = new MemoryKeyStore()) {
  const manager = createKeyManager({ store });
  const { key } = await manager.create({ accountId: "acc_1", actor: { id: "usr_1", admin: true }, name: "Tick" });
  return { auth: createApiKeyAuth({ store }), key };
}

describe("runAuth", () => {
  it("answers at once when nothing had to wait (memory store), with a promise when the store is asynchronous", async () => {
    const { auth, key } = await world();
    const ready = runAuth(auth, { authorization: `Bearer ${key}`, method: "GET" });
    expect(ready instanceof Promise).toBe(false);
    expect(!(ready instanceof Promise) && ready.ok).toBe(true);

    class SlowStore extends MemoryKeyStore {
      override async getByHash(hash: string): Promise<ApiKeyRecord | null> {
        return super.getByHash(hash);
      }
    }
    const slow = await world(new SlowStore());
    const pending = runAuth(slow.auth, { authorization: `Bearer ${slow.key}`, method: "GET" });
    expect(pending instanceof Promise).toBe(true);
    expect((await pending).ok).toBe(true);
  });

  it("the authenticator's check answers the same as authenticate, row for row", async () => {
    const { auth, key } = await world();
    for (const authorization of [`Bearer ${key}`, undefined, "Basic x", `Bearer ${key} x`, `Bearer ${key.slice(0, -1)}0`]) {
      const now = (auth as unknown as Record<symbol, { check: (r: unknown) => unknown }>)[checkNow]!.check({ authorization, method: "GET" });
      expect(now).toEqual(await auth.authenticate({ authorization, method: "GET" }));
    }
  });

  it("an authenticator that is not ours goes through authenticate; misbehaviour is the 503 fallback", async () => {
    const { auth, key } = await world();
    const wrapper: ApiKeyAuth = { realm: "api", authenticate: (r) => auth.authenticate(r), close: () => auth.close() };
    const viaWrapper = runAuth(wrapper, { authorization: `Bearer ${key}`, method: "GET" });
    expect(viaWrapper instanceof Promise).toBe(true);
    expect((await viaWrapper).ok).toBe(true);

    const broken = (fn: () => unknown): ApiKeyAuth => ({ realm: "api", authenticate: fn as never, close: async () => {} });
    expect(runAuth(broken(() => { throw new Error("boom"); }), { authorization: undefined, method: "GET" })).toBe(FALLBACK_FAILURE);
    expect(await runAuth(broken(() => Promise.reject(new Error("boom"))), { authorization: undefined, method: "GET" })).toBe(FALLBACK_FAILURE);
    expect(runAuth(broken(() => ({ ok: "yes" })), { authorization: undefined, method: "GET" })).toBe(FALLBACK_FAILURE);
    const throwingCheck = {
      ...wrapper,
      [checkNow]: { check: () => { throw new Error("boom"); }, authenticate: wrapper.authenticate },
    } as ApiKeyAuth;
    expect(runAuth(throwingCheck, { authorization: undefined, method: "GET" })).toBe(FALLBACK_FAILURE);
  });

  it("an authenticate replaced on our authenticator (logging, a test stub) is not bypassed", async () => {
    const { auth, key } = await world();
    const seen: string[] = [];
    const original = auth.authenticate;
    auth.authenticate = (request) => {
      seen.push(request.method);
      return original(request);
    };
    const outcome = runAuth(auth, { authorization: `Bearer ${key}`, method: "GET" });
    expect(outcome instanceof Promise).toBe(true);
    expect((await outcome).ok).toBe(true);
    expect(seen).toEqual(["GET"]);
    auth.authenticate = () => Promise.reject(new Error("store down"));
    expect(await runAuth(auth, { authorization: `Bearer ${key}`, method: "GET" })).toBe(FALLBACK_FAILURE);
  });

  it("Express: with a ready answer the middleware calls next before it returns", async () => {
    const { auth, key } = await world();
    const middleware = apiKeyAuth(auth);
    let nextCalled = false;
    const req = { rawHeaders: ["Authorization", `Bearer ${key}`], headers: {}, method: "GET", url: "/" } as unknown as express.Request;
    middleware(req, {} as express.Response, () => {
      nextCalled = true;
    });
    expect(nextCalled).toBe(true);
    expect(req.apiKey?.accountId).toBe("acc_1");
  });
});

/**
 * A Redis that evicts keys of its own accord (maxmemory-policy allkeys-*) could drop the entries
 * only key management reads (by id, by account) while the record every request reads stays: a key
 * would then still authenticate after `revoke` answered 404. The store refuses to work on such a
 * server (503 everywhere, with an error that says why). Runs a private redis-server of its own
 * (the shared one's settings are not this test's to change); skipped where there is none.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKeyAuth, createKeyManager, isApiKeyError } from "../../src/index.js";
import { RedisKeyStore } from "../../src/stores/redis/index.js";

const hasRedisServer = spawnSync("redis-server", ["--version"]).status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe.skipIf(!hasRedisServer)("RedisKeyStore on a Redis that evicts keys (needs redis-server on the PATH)", () => {
  let server: ChildProcess;
  let client: Redis;

  beforeAll(async () => {
    const port = await freePort();
    server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory-policy", "allkeys-lru"], { stdio: "ignore" });
    client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 20 });
    client.on("error", () => {}); // refused while the server starts
    for (let i = 0; i < 100; i++) {
      try {
        await client.connect();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await client.ping();
  });

  afterAll(async () => {
    client.disconnect();
    server.kill("SIGKILL");
  });

  it("key management fails closed: 503, with the reason as its cause, and nothing written", async () => {
    const store = new RedisKeyStore({ client, prefix: "evict:", confirmTimeoutMs: false });
    const manager = createKeyManager({ store, accounts: { getPlan: () => "pro" } });
    const admin = { id: "usr_1", admin: true };
    const error = await manager.create({ accountId: "acc_1", actor: admin, name: "CI" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isApiKeyError(error) && [error.status, error.code]).toEqual([503, "SERVICE_UNAVAILABLE"]);
    const cause = (error as { cause?: unknown }).cause;
    expect(isApiKeyError(cause) && cause.code).toBe("INVALID_OPTIONS");
    expect(String((cause as Error).message)).toMatch(/maxmemory-policy allkeys-lru.*noeviction/);
    expect(await client.dbsize()).toBe(0); // nothing was written
  });

  it("a key that exists is refused with 503 too (never a pass), and the store works once the policy is noeviction", async () => {
    await client.config("SET", "maxmemory-policy", "noeviction");
    const store = new RedisKeyStore({ client, prefix: "evict2:", confirmTimeoutMs: false });
    const manager = createKeyManager({ store, accounts: { getPlan: () => "pro" } });
    const admin = { id: "usr_1", admin: true };
    const { key } = await manager.create({ accountId: "acc_1", actor: admin, name: "CI" });
    // The same key, read by a store that first meets the server under an evicting policy.
    await client.config("SET", "maxmemory-policy", "allkeys-lfu");
    const later = new RedisKeyStore({ client, prefix: "evict2:", confirmTimeoutMs: false });
    const auth = createApiKeyAuth({ store: later });
    const refused = await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" });
    expect(refused).toMatchObject({ ok: false, status: 503, reason: "unavailable" });
    await auth.close();
    // volatile-* policies evict only keys with a time to live, and the store's keys have none.
    await client.config("SET", "maxmemory-policy", "volatile-lru");
    const fine = new RedisKeyStore({ client, prefix: "evict2:", confirmTimeoutMs: false });
    const auth2 = createApiKeyAuth({ store: fine });
    expect((await auth2.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
    await auth2.close();
  });
});

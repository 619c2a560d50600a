import { Redis } from "ioredis";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createApiKeyAuth, createKeyManager, isApiKeyError } from "../../src/index.js";
import { RedisKeyStore } from "../../src/stores/redis/index.js";
import { makeTestRecord, runKeyStoreConformance } from "../../src/testing/index.js";
import { REDIS_URL, redisWithPrefix, uniqueName, waitFor } from "./helpers.js";

// Against a real Redis server: set REDIS_URL (CI does, see .ci/run).
describe.skipIf(REDIS_URL === undefined)("RedisKeyStore (set REDIS_URL to run)", () => {
  // A name of our own: the reconnect test kills only this run's subscriber connection.
  const connectionName = uniqueName("fluenzr_test");
  const redis = redisWithPrefix("test", { connectionName });
  const { prefix } = redis;
  let client: Redis;
  let store: RedisKeyStore;

  beforeAll(() => {
    client = redis.client;
    store = new RedisKeyStore({ client, prefix });
  });

  runKeyStoreConformance("RedisKeyStore", () => store, { strictInput: true, rotationRules: true });

  it("concurrent revokes keep the earliest time, whatever order they run in", async () => {
    const r = makeTestRecord();
    await store.insert(r);
    const base = Date.now();
    const times = Array.from({ length: 8 }, (_, i) => new Date(base + (i % 2 === 0 ? 1 : -1) * i * 1000));
    await Promise.all(times.map((at) => store.revoke(r.id, { at })));
    expect((await store.getById(r.id))?.revokedAt?.getTime()).toBe(Math.min(...times.map((t) => t.getTime())));
  });

  it("last used never moves back, even with an id twice in a batch or an older batch arriving late", async () => {
    const r = makeTestRecord();
    await store.insert(r);
    const t1 = new Date(Date.now() - 2_000);
    const t2 = new Date(Date.now() - 1_000);
    await store.recordUsage([{ id: r.id, lastUsedAt: t2 }, { id: r.id, lastUsedAt: t1 }]);
    await store.recordUsage([{ id: r.id, lastUsedAt: t1 }]);
    expect((await store.getById(r.id))?.lastUsedAt).toEqual(t2);
  });

  it("a miss costs one round trip, and a lookup reads only the key's own hash", async () => {
    const monitor = new Redis(REDIS_URL as string);
    const commands: string[] = [];
    const m = await monitor.monitor();
    m.on("monitor", (_time: string, args: string[]) => {
      if (args.some((a) => a.startsWith(prefix))) commands.push(args[0] as string);
    });
    try {
      await new Promise((r) => setTimeout(r, 50));
      await store.getByHash(makeTestRecord().hash);
      await waitFor(() => commands.length >= 1, 2_000, "monitor");
      await new Promise((r) => setTimeout(r, 50));
      expect(commands.map((c) => c.toLowerCase())).toEqual(["hgetall"]);
    } finally {
      m.disconnect();
      monitor.disconnect();
    }
  });

  it("a dropped subscriber connection reports down, then resubscribes and reports up", async () => {
    const statuses: boolean[] = [];
    const seen: string[] = [];
    const stop = store.subscribeRevocations((x) => seen.push(x.id), (s) => statuses.push(s));
    try {
      await waitFor(() => statuses.at(-1) === true, 3_000, "SUBSCRIBE");
      const list = (await client.client("LIST")) as string;
      const ids = list
        .split("\n")
        .filter((line) => line.includes(` name=${connectionName} `) && / sub=[1-9]/.test(line))
        .map((line) => /id=(\d+)/.exec(line)?.[1]);
      expect(ids).toHaveLength(1);
      await client.client("KILL", "ID", ids[0] as string);
      await waitFor(() => statuses.length >= 3 && statuses.at(-1) === true, 5_000, "resubscribe");
      expect(statuses.slice(0, 3)).toEqual([false, true, false]);
      const r = makeTestRecord();
      await store.insert(r);
      await store.revoke(r.id);
      await waitFor(() => seen.includes(r.id), 3_000, "announcement after reconnect");
    } finally {
      stop();
    }
  });

  it("the heartbeat keeps the channel up and refreshes the presence (no reconnect loop)", async () => {
    const statuses: boolean[] = [];
    const stop = store.subscribeRevocations(() => {}, (s) => statuses.push(s));
    try {
      await waitFor(() => statuses.at(-1) === true, 3_000, "SUBSCRIBE");
      const [, first] = await client.zrange(`${prefix}listeners`, -1, -1, "WITHSCORES");
      await new Promise((r) => setTimeout(r, 5_600)); // one heartbeat (5 s), with its PING
      const [, second] = await client.zrange(`${prefix}listeners`, -1, -1, "WITHSCORES");
      expect(Number(second)).toBeGreaterThan(Number(first));
      expect(statuses).toEqual([false, true]);
    } finally {
      stop();
    }
    await new Promise((r) => setTimeout(r, 100)); // the presence is removed in the background
    expect(await client.zcard(`${prefix}listeners`)).toBe(0);
  }, 15_000);

  it("reloads its scripts after the server forgot them (SCRIPT FLUSH)", async () => {
    const r = makeTestRecord();
    await store.insert(r);
    await client.script("FLUSH");
    expect((await store.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
  });
});

describe.skipIf(REDIS_URL === undefined)("RedisKeyStore confirmed revocation (set REDIS_URL to run)", () => {
  const redis = redisWithPrefix("confirm");
  const { prefix } = redis;
  let client: Redis;

  beforeAll(() => {
    client = redis.client;
  });

  it("revoke() resolves after every listening process has dropped the key", async () => {
    const listening = new RedisKeyStore({ client, prefix });
    const confirming = new RedisKeyStore({ client: new Redis(REDIS_URL as string), prefix, confirmTimeoutMs: 2_000 });
    const r = makeTestRecord();
    await confirming.insert(r);
    const dropped: string[] = [];
    let up = false;
    const stop = listening.subscribeRevocations((x) => dropped.push(x.hash), (s) => (up = s));
    try {
      await waitFor(() => up, 3_000, "SUBSCRIBE");
      expect((await confirming.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
      expect(dropped).toEqual([r.hash]);
      // Nothing changed, nothing to confirm: a second revoke resolves at once.
      expect((await confirming.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
    } finally {
      stop();
      confirming.client.disconnect();
    }
  });

  it("presence is kept on the Redis server's clock: a listening process whose own clock runs 20 s behind is still waited for", async () => {
    const realNow = Date.now.bind(Date);
    const listening = new RedisKeyStore({ client: new Redis(REDIS_URL as string), prefix });
    const confirming = new RedisKeyStore({ client, prefix, confirmTimeoutMs: 2_000 });
    const r = makeTestRecord();
    await confirming.insert(r);
    const dropped: string[] = [];
    let up = false;
    // The listening process joins (and writes its presence) while its clock reads 20 s ago.
    const skew = vi.spyOn(Date, "now").mockImplementation(() => realNow() - 20_000);
    const stop = listening.subscribeRevocations((x) => dropped.push(x.hash), (s) => (up = s));
    try {
      await waitFor(() => up, 3_000, "SUBSCRIBE");
      skew.mockRestore();
      const [, score] = await client.zrange(`${prefix}listeners`, -1, -1, "WITHSCORES");
      const [seconds, micros] = await client.time();
      const serverMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      expect(Math.abs(Number(score) - serverMs)).toBeLessThan(5_000);
      // So the revoke counts it as present and waits for its acknowledgement: by the time revoke()
      // resolves, that process has dropped the key (with its presence 20 s old, it did not wait).
      await confirming.revoke(r.id);
      expect(dropped).toEqual([r.hash]);
    } finally {
      skew.mockRestore();
      stop();
      listening.client.disconnect();
    }
  });

  it("revoke() waits for a slow process's acknowledgement, and no longer", async () => {
    const told: unknown[] = [];
    const confirming = new RedisKeyStore({ client, prefix, confirmTimeoutMs: 2_000, onUnconfirmed: (e) => told.push(e) });
    const r = makeTestRecord();
    await confirming.insert(r);
    // Another process, as the store sees it: present, and answering 150 ms after each announcement.
    const slow = JSON.stringify({ id: "slow", name: "host-s:1" });
    await client.zadd(`${prefix}listeners`, Date.now(), slow);
    const sub = client.duplicate();
    await sub.subscribe(`${prefix}revoked`);
    sub.on("message", (_channel: string, message: string) => {
      const { hash } = JSON.parse(message) as { hash: string };
      setTimeout(() => void client.publish(`${prefix}revoked:ack`, JSON.stringify({ listener: "slow", hash })), 150);
    });
    try {
      const started = Date.now();
      await confirming.revoke(r.id);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(140);
      expect(took).toBeLessThan(1_500);
      expect(told).toEqual([]);
    } finally {
      sub.disconnect();
      await client.zrem(`${prefix}listeners`, slow);
    }
  });

  it("a listening process that does not confirm is named to onUnconfirmed after the timeout; the key is revoked", async () => {
    const told: string[][] = [];
    const confirming = new RedisKeyStore({ client, prefix, confirmTimeoutMs: 200, onUnconfirmed: (e) => told.push([e.id, ...e.listeners]) });
    const r = makeTestRecord();
    await confirming.insert(r);
    const silent = JSON.stringify({ id: "silent", name: "host-b:4242" });
    await client.zadd(`${prefix}listeners`, Date.now(), silent);
    try {
      const started = Date.now();
      expect((await confirming.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(told).toEqual([[r.id, "host-b:4242"]]);
    } finally {
      await client.zrem(`${prefix}listeners`, silent);
    }
  });
});

describe.skipIf(REDIS_URL === undefined)("RedisKeyStore options and input (set REDIS_URL to run)", () => {
  const redis = redisWithPrefix("opts");
  const { prefix } = redis;
  let client: Redis;

  beforeAll(() => {
    client = redis.client;
  });

  const refusal = (options: unknown): string => {
    try {
      new RedisKeyStore(options as never);
    } catch (error) {
      return isApiKeyError(error) ? `${error.code} ${error.field}: ${error.message}` : String(error);
    }
    return "accepted";
  };

  it("refuses an ioredis client created with keyPrefix, naming client and pointing to the prefix option", async () => {
    // Its keyPrefix would apply to the keys given as KEYS but not to those the Lua scripts build:
    // records written where list and revoke never look, and a revoked key that keeps working.
    const prefixed = new Redis(REDIS_URL as string, { keyPrefix: "myapp:" });
    try {
      await prefixed.ping();
      const message = refusal({ client: prefixed });
      expect(message).toMatch(/^INVALID_OPTIONS client: /);
      expect(message).toContain("keyPrefix");
      expect(message).toContain('prefix: "myapp:"');
      // An empty keyPrefix prefixes nothing: accepted.
      const plain = new Redis(REDIS_URL as string, { keyPrefix: "", lazyConnect: true });
      expect(refusal({ client: plain, prefix })).toBe("accepted");
      plain.disconnect();
    } finally {
      prefixed.disconnect();
    }
  });

  it("confirmTimeoutMs is a positive integer or false; anything else is refused naming it", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 31, "2000", null, true]) {
      expect(refusal({ client, prefix, confirmTimeoutMs: bad })).toMatch(/^INVALID_OPTIONS confirmTimeoutMs: /);
    }
    for (const good of [1, 2_000, false, undefined]) expect(refusal({ client, prefix, confirmTimeoutMs: good })).toBe("accepted");
    expect(refusal({ client, prefix, onUnconfirmed: "log" })).toMatch(/^INVALID_OPTIONS onUnconfirmed: /);
  });

  it("revoke refuses an Invalid Date before sending anything to Redis", async () => {
    const store = new RedisKeyStore({ client, prefix });
    const r = makeTestRecord();
    await store.insert(r);
    const spies = [vi.spyOn(client, "evalsha"), vi.spyOn(client, "zrangebyscore"), vi.spyOn(client, "duplicate")];
    try {
      await expect(store.revoke(r.id, { at: new Date("garbage") })).rejects.toMatchObject({ code: "INVALID_INPUT", field: "at" });
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect((await store.getById(r.id))?.revokedAt).toBeNull();
    expect(await client.hget(`${prefix}h:${r.hash}`, "revokedAt")).toBeNull();
  });

  it("recordUsage skips entries with an Invalid Date and never stores one", async () => {
    const store = new RedisKeyStore({ client, prefix });
    const r = makeTestRecord();
    await store.insert(r);
    await store.recordUsage([{ id: r.id, lastUsedAt: new Date("garbage") }]);
    expect(await client.hget(`${prefix}h:${r.hash}`, "lastUsedAt")).toBeNull();
    const t = new Date(Date.now() - 1_000);
    await store.recordUsage([{ id: r.id, lastUsedAt: new Date(Number.NaN) }, { id: r.id, lastUsedAt: t }]);
    expect((await store.getById(r.id))?.lastUsedAt).toEqual(t);
  });
});

describe.skipIf(REDIS_URL === undefined)("RedisKeyStore confirmed revocation by default (set REDIS_URL to run)", () => {
  const redis = redisWithPrefix("default");
  const { prefix } = redis;
  let client: Redis;

  beforeAll(() => {
    client = redis.client;
  });

  /** Another process, as the store sees it: present, and acknowledging `delayMs` after each announcement. */
  async function slowListener(delayMs: number): Promise<() => Promise<void>> {
    const member = JSON.stringify({ id: "slow", name: "host-s:1" });
    await client.zadd(`${prefix}listeners`, Date.now(), member);
    const sub = client.duplicate();
    await sub.subscribe(`${prefix}revoked`);
    sub.on("message", (_channel: string, message: string) => {
      const { hash } = JSON.parse(message) as { hash: string };
      setTimeout(() => void client.publish(`${prefix}revoked:ack`, JSON.stringify({ listener: "slow", hash })), delayMs);
    });
    return async () => {
      sub.disconnect();
      await client.zrem(`${prefix}listeners`, member);
    };
  }

  it("without confirmTimeoutMs, revoke() waits for every listening process", async () => {
    const told: unknown[] = [];
    const store = new RedisKeyStore({ client, prefix, onUnconfirmed: (e) => told.push(e) });
    const r = makeTestRecord();
    await store.insert(r);
    const stop = await slowListener(150);
    try {
      const started = Date.now();
      await store.revoke(r.id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(told).toEqual([]);
    } finally {
      await stop();
    }
  });

  it("with no process listening, revoke() neither waits nor opens a connection", async () => {
    const store = new RedisKeyStore({ client, prefix });
    const r = makeTestRecord();
    await store.insert(r);
    const duplicate = vi.spyOn(client, "duplicate");
    try {
      const started = Date.now();
      expect((await store.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
      expect(Date.now() - started).toBeLessThan(200);
      expect(duplicate).not.toHaveBeenCalled();
    } finally {
      duplicate.mockRestore();
    }
  });

  it("confirmTimeoutMs: false turns it off: revoke() does not wait for a silent listener", async () => {
    const told: unknown[] = [];
    const store = new RedisKeyStore({ client, prefix, confirmTimeoutMs: false, onUnconfirmed: (e) => told.push(e) });
    const r = makeTestRecord();
    await store.insert(r);
    const silent = JSON.stringify({ id: "silent", name: "host-b:4242" });
    await client.zadd(`${prefix}listeners`, Date.now(), silent);
    const seen: string[] = [];
    let up = false;
    const stopListening = store.subscribeRevocations((x) => seen.push(x.id), (s) => (up = s));
    try {
      await waitFor(() => up, 3_000, "SUBSCRIBE");
      const started = Date.now();
      expect((await store.revoke(r.id))?.revokedAt).toBeInstanceOf(Date);
      expect(Date.now() - started).toBeLessThan(200);
      expect(told).toEqual([]);
      // Still announced.
      await waitFor(() => seen.includes(r.id), 3_000, "announcement");
    } finally {
      stopListening();
      await client.zrem(`${prefix}listeners`, silent);
    }
  });

  // A stopped subscription must leave no presence (nor a heartbeat that writes it again): every
  // confirmed revoke would wait for it in vain and name a listener that is gone.
  /** No presence now, nor after the 5 s heartbeat fires (timers faked by the caller). */
  async function expectNoPresenceEvenAfterAHeartbeat(): Promise<void> {
    expect(await client.zcard(`${prefix}listeners`)).toBe(0);
    vi.advanceTimersByTime(5_000); // a heartbeat, if one was left running
    await new Promise((r) => setTimeout(r, 100));
    expect(await client.zcard(`${prefix}listeners`)).toBe(0);
  }

  it("a subscription stopped while SUBSCRIBE is under way leaves no presence and no heartbeat", async () => {
    const store = new RedisKeyStore({ client, prefix });
    const duplicate = client.duplicate.bind(client);
    let stop = (): void => {};
    const spy = vi.spyOn(client, "duplicate").mockImplementation((override) => {
      const conn = duplicate(override);
      const subscribe = conn.subscribe.bind(conn);
      // The reply to SUBSCRIBE still arrives after the connection is told to close.
      conn.subscribe = ((...channels: string[]) => {
        const sent = subscribe(...channels);
        stop();
        return sent;
      }) as typeof conn.subscribe;
      return conn;
    });
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      stop = store.subscribeRevocations(() => {});
      await new Promise((r) => setTimeout(r, 300));
      await expectNoPresenceEvenAfterAHeartbeat();
    } finally {
      vi.useRealTimers();
      spy.mockRestore();
      stop();
    }
  });

  it("a subscription stopped while its presence is being written leaves no presence and no heartbeat", async () => {
    const store = new RedisKeyStore({ client, prefix });
    // The presence is written by a script (on the server's clock): stop as that script is sent.
    const evalsha = client.evalsha.bind(client);
    let stop = (): void => {};
    let first = true;
    const spy = vi.spyOn(client, "evalsha").mockImplementation(((...args: Parameters<typeof client.evalsha>) => {
      const sent = evalsha(...args);
      if (first && args.includes(`${prefix}listeners`)) {
        first = false;
        stop();
      }
      return sent;
    }) as typeof client.evalsha);
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      stop = store.subscribeRevocations(() => {});
      await waitFor(() => !first, 3_000, "the presence write");
      await new Promise((r) => setTimeout(r, 100));
      await expectNoPresenceEvenAfterAHeartbeat();
    } finally {
      vi.useRealTimers();
      spy.mockRestore();
      stop();
    }
  });

  it("a client disconnected right after its listener stopped keeps no presence", async () => {
    const own = new Redis(REDIS_URL as string);
    const store = new RedisKeyStore({ client: own, prefix });
    let up = false;
    const stop = store.subscribeRevocations(() => {}, (s) => (up = s));
    await waitFor(() => up, 3_000, "SUBSCRIBE");
    expect(await client.zcard(`${prefix}listeners`)).toBe(1);
    stop();
    own.disconnect(); // as on shutdown: await auth.close(); client.disconnect()
    await new Promise((r) => setTimeout(r, 50));
    expect(await client.zcard(`${prefix}listeners`)).toBe(0);
  });

  it("an authenticator closed right after its first request leaves no listener that a revoke would wait for", async () => {
    const told: unknown[] = [];
    const store = new RedisKeyStore({ client, prefix, onUnconfirmed: (e) => told.push(e) });
    const manager = createKeyManager({ store });
    const actor = { id: "usr_admin", admin: true };
    const accountId = uniqueName("acc");
    const { key, record } = await manager.create({ accountId, actor, name: "Production" });
    // Closed at once, after a tick, and after 1 to 4 ms: while the subscriber connection connects,
    // while it subscribes, while the presence is written.
    for (const pauseMs of [-1, 0, 1, 2, 3, 4, -1, 0, 1, 2, 3, 4]) {
      const auth = createApiKeyAuth({ store, cache: { ttlMs: 60_000, max: 100 } });
      const first = auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" });
      if (pauseMs === 0) await Promise.resolve();
      else if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      await auth.close();
      expect((await first).ok).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(await client.zcard(`${prefix}listeners`)).toBe(0);
    const started = Date.now();
    await manager.revoke({ accountId, actor, id: record.id });
    expect(Date.now() - started).toBeLessThan(500);
    expect(told).toEqual([]);
  });
});

describe.skipIf(REDIS_URL === undefined)("RedisKeyStore with the caller's client options (set REDIS_URL to run)", () => {
  const redis = redisWithPrefix("clientopts");
  const { prefix } = redis;

  it("a client with enableOfflineQueue: false still revokes while another process listens (the revoke's own connection queues its SUBSCRIBE)", async () => {
    const strictClient = new Redis(REDIS_URL as string, { enableOfflineQueue: false });
    await new Promise<void>((resolve) => strictClient.once("ready", () => resolve()));
    const listening = new RedisKeyStore({ client: new Redis(REDIS_URL as string), prefix });
    const revoking = new RedisKeyStore({ client: strictClient, prefix, confirmTimeoutMs: 2_000 });
    const r = makeTestRecord();
    await revoking.insert(r);
    let up = false;
    const dropped: string[] = [];
    const stop = listening.subscribeRevocations((x) => dropped.push(x.hash), (s) => (up = s));
    try {
      await waitFor(() => up, 3_000, "SUBSCRIBE");
      const revoked = await revoking.revoke(r.id);
      expect(revoked?.revokedAt).toBeInstanceOf(Date);
      expect(dropped).toEqual([r.hash]);
    } finally {
      stop();
      listening.client.disconnect();
      strictClient.disconnect();
    }
  });

  it("the store's own connections subscribe by themselves (ioredis's automatic re-SUBSCRIBE has no handler) and queue while connecting", async () => {
    const client = new Redis(REDIS_URL as string, { enableOfflineQueue: false });
    const spy = vi.spyOn(client, "duplicate");
    const store = new RedisKeyStore({ client, prefix });
    let up = false;
    const stop = store.subscribeRevocations(() => {}, (s) => (up = s));
    try {
      await waitFor(() => up, 3_000, "SUBSCRIBE");
      expect(spy).toHaveBeenCalledWith({ autoResubscribe: false, enableOfflineQueue: true });
    } finally {
      stop();
      spy.mockRestore();
      client.disconnect();
    }
  });
});

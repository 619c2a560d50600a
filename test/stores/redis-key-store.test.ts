import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisKeyStore } from "../../src/stores/redis/index.js";
import { makeTestRecord, runKeyStoreConformance } from "../../src/testing/index.js";
import { REDIS_URL, uniqueName, waitFor } from "./helpers.js";

// Against a real Redis server: set REDIS_URL (CI does, see .ci/run).
describe.skipIf(REDIS_URL === undefined)("RedisKeyStore (set REDIS_URL to run)", () => {
  const prefix = `${uniqueName("test")}:`;
  const connectionName = uniqueName("fluenzr_test");
  let client: Redis;
  let store: RedisKeyStore;

  beforeAll(() => {
    // A name of our own: the reconnect test kills only this run's subscriber connection.
    client = new Redis(REDIS_URL as string, { connectionName });
    store = new RedisKeyStore({ client, prefix });
  });
  afterAll(async () => {
    if (client === undefined) return;
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });

  runKeyStoreConformance("RedisKeyStore", () => store);

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
  const prefix = `${uniqueName("confirm")}:`;
  let client: Redis;

  beforeAll(() => {
    client = new Redis(REDIS_URL as string);
  });
  afterAll(async () => {
    if (client === undefined) return;
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
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

// Real outages between the stores and their servers: a fault-injecting TCP proxy sits between
// PostgresKeyStore / RedisKeyStore and the real PostgreSQL / Redis, and black-holes traffic (a hung
// server or a silent network), resets every connection and refuses new ones (a crashed server),
// then restores. Through the public API only, it checks DESIGN §5 and §9 and
// docs/verification-cache.md: an outage gives the 503 envelope within the time limit, never a pass
// and never a hang; the cache is flushed and bypassed while the announcement channel is down (a
// channel gone silent without an error is found by the heartbeat); the same authenticator recovers;
// a revocation made elsewhere during the outage is never missed; nothing is left open afterwards.
//
// The tests of one store run in order and share one authenticator, as one API server would.
import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createApiKeyAuth,
  createKeyManager,
  isApiKeyError,
  type ApiKeyAuth,
  type ApiKeyAuthRequest,
  type ApiKeyAuthResult,
  type KeyManager,
  type KeyStore,
} from "../../src/index.js";
import { PostgresKeyStore, type UnconfirmedRevocation } from "../../src/stores/postgres/index.js";
import { RedisKeyStore } from "../../src/stores/redis/index.js";
import { FaultProxy, type SentChunk } from "../support/fault-proxy.js";
import { DATABASE_URL, REDIS_URL, uniqueName, waitFor } from "./helpers.js";

/** The authenticator's and the manager's `timeouts` in these tests. */
const TIMEOUT_MS = 300;
/** How late past a time limit an answer may come: timers fire late on a loaded 2-core machine. */
const LATE_MS = 350;
/** The stores' documented heartbeat: every 5 s, and a beat without an answer within 5 s means dead. */
const HEARTBEAT_MS = 5_000;
/** `confirmTimeoutMs` of the "other server's" store, which revokes during the outages. */
const CONFIRM_MS = 500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await run();
  return { value, ms: performance.now() - start };
}

function expectUnavailable(result: ApiKeyAuthResult): void {
  expect(result).toEqual({
    ok: false,
    status: 503,
    body: { success: false, error: { code: "SERVICE_UNAVAILABLE", message: "Authentication is temporarily unavailable" } },
    headers: { "Retry-After": "1" },
    reason: "unavailable",
  });
}

/** The manager call rejects with an ApiKeyError 503 SERVICE_UNAVAILABLE within `limitMs` (+ LATE_MS). */
async function expectManagerUnavailable(call: () => Promise<unknown>, limitMs: number): Promise<void> {
  const { value: error, ms } = await timed(() => call().then(() => new Error("resolved during the outage"), (e: unknown) => e));
  expect(isApiKeyError(error), String(error)).toBe(true);
  expect(error).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE", body: { error: { code: "SERVICE_UNAVAILABLE" } } });
  expect(ms).toBeLessThanOrEqual(limitMs + LATE_MS);
}

/** Poll `check` until it returns true, or fail after `ms`. */
async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resources that keep a Node process (the test worker) alive, by type. */
const HOLDING = ["TCPSocketWrap", "TCPServerWrap", "TCPConnectWrap", "GetAddrInfoReqWrap", "Timeout", "Immediate"];
function holding(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) if (HOLDING.includes(type)) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

interface Backend {
  readonly proxy: FaultProxy;
  /** The store of the API server under test, behind the proxy. */
  readonly store: KeyStore & Required<Pick<KeyStore, "subscribeRevocations">>;
  /** Another server's store on the same data, straight to the real server (never behind the proxy). */
  readonly direct: KeyStore;
  /** What the listening connection sends to start listening (LISTEN, SUBSCRIBE on the revocation channel). */
  readonly listens: RegExp;
  /** What the listening connection sends as its heartbeat (the presence UPDATE, a PING). */
  readonly beats: RegExp;
  /** Close the proxied store's client (as a server does on shutdown, after auth.close()). */
  closeProxied(): Promise<void>;
  /** Delete the test's data and close the direct client. */
  closeDirect(): Promise<void>;
}

/** Unhandled rejections seen while these tests run: there must be none. */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

function describeOutage(title: string, skip: boolean, open: (onUnconfirmed: (event: UnconfirmedRevocation) => void) => Promise<Backend>): void {
  describe.skipIf(skip)(title, () => {
    const accountId = uniqueName("acc_outage");
    const actor = { id: "usr_admin", admin: true };
    const accounts = { getPlan: (): string => "pro" };
    const keys: Record<string, string> = {};
    const ids: Record<string, string> = {};
    const unconfirmed: UnconfirmedRevocation[] = [];
    const statuses: { up: boolean; at: number }[] = [];
    let b: Backend | undefined;
    let auth: ApiKeyAuth; // cache on: the API server under test
    let plain: ApiKeyAuth; // cache off, same store
    let manager: KeyManager; // behind the proxy
    let stopStatus: (() => void) | undefined;
    let closed = false;

    const backend = (): Backend => {
      if (b === undefined) throw new Error("the backend is opened in beforeAll");
      return b;
    };
    const req = (name: string): ApiKeyAuthRequest => ({ authorization: `Bearer ${keys[name]}`, method: "GET", path: "/v1/outage" });
    /** The store's announcement channel as last reported to its subscribers (the cache is one of them). */
    const channelUp = (): boolean => statuses.at(-1)?.up === true;
    /** Hear the same channel status as the authenticator's cache (one listening connection per store). */
    const listenToStatus = (): (() => void) =>
      backend().store.subscribeRevocations(
        () => {},
        (up) => statuses.push({ up, at: Date.now() }),
      );
    /** The connections (as numbered by the proxy) that listen for revocations and are open. */
    const listening = (): number[] => backend().proxy.openConnectionsThatSent(backend().listens);

    /**
     * After an outage: at every moment on the way back `revoked` is refused while `steady` comes
     * back by itself, then `revoked` is refused as revoked (not as an outage).
     */
    async function expectRecovery(revoked: string, what: string): Promise<void> {
      await eventually(
        async () => {
          const [gone, steady] = await Promise.all([auth.authenticate(req(revoked)), auth.authenticate(req("steady"))]);
          expect(gone.ok).toBe(false);
          return steady.ok && channelUp();
        },
        5_000,
        what,
      );
      expect(await auth.authenticate(req(revoked))).toMatchObject({ ok: false, status: 401, reason: "revoked" });
    }

    /**
     * Back by itself after the outage, with exactly one listening connection: a second reconnect
     * loop would hold a second one, which nothing gives back (and a pool ended on shutdown would
     * wait for it for ever); and answered from the cache again.
     */
    async function expectRecoveredWithOneListener(): Promise<void> {
      await eventually(async () => (await auth.authenticate(req("steady"))).ok && channelUp(), 5_000, "recovery");
      await sleep(500);
      expect(listening()).toHaveLength(1);
      await warm("steady");
    }

    /** Channel up, and `names` answered 200 from the cache (a second lookup reaches no store). */
    async function warm(...names: string[]): Promise<void> {
      await waitFor(channelUp, 5_000, "the announcement channel to be up");
      const spy = vi.spyOn(backend().store, "getByHash");
      try {
        for (const name of names) {
          expect((await auth.authenticate(req(name))).ok, name).toBe(true);
          spy.mockClear();
          expect((await auth.authenticate(req(name))).ok, name).toBe(true);
          expect(spy, `${name} is answered from the cache`).not.toHaveBeenCalled();
        }
      } finally {
        spy.mockRestore();
      }
    }

    beforeAll(async () => {
      b = await open((event) => unconfirmed.push(event));
      const admin = createKeyManager({ store: b.direct, accounts });
      for (const name of ["steady", "cold", "silent", "crashed", "target"]) {
        const { key, record } = await admin.create({ accountId, actor, name });
        keys[name] = key;
        ids[name] = record.id;
      }
      auth = createApiKeyAuth({ store: b.store, accounts, timeouts: TIMEOUT_MS, cache: { ttlMs: 60_000, max: 1_000 } });
      plain = createApiKeyAuth({ store: b.store, accounts, timeouts: TIMEOUT_MS });
      manager = createKeyManager({ store: b.store, accounts, timeouts: TIMEOUT_MS });
      stopStatus = listenToStatus();
    });

    afterAll(async () => {
      if (b === undefined || closed) return;
      // A test failed before the last one closed everything: close what is left anyway.
      const quietly = (work: Promise<unknown> | undefined): Promise<unknown> => within(Promise.resolve(work), 5_000, "clean-up").catch(() => {});
      await quietly(b.proxy.restore());
      await quietly(auth?.close());
      await quietly(plain?.close());
      stopStatus?.();
      await quietly(b.closeProxied());
      await b.proxy.close();
      await quietly(b.closeDirect());
    });

    it.sequential("black-holed (a hung server): every lookup answers the 503 envelope within the time limit, nothing passes, and the manager rejects with 503", async () => {
      const { proxy } = backend();
      await warm("steady");
      // A second server's authenticator with a last-used time waiting to be written: close() must not hang on it.
      const closing = createApiKeyAuth({ store: backend().store, accounts, timeouts: TIMEOUT_MS });
      expect((await closing.authenticate(req("steady"))).ok).toBe(true);
      proxy.blackhole();
      try {
        const results = await Promise.all([
          ...Array.from({ length: 4 }, () => timed(() => auth.authenticate(req("cold")))), // not cached
          ...Array.from({ length: 4 }, () => timed(() => plain.authenticate(req("steady")))), // no cache
          timed(() => plain.authenticate(req("cold"))),
        ]);
        for (const { value, ms } of results) {
          expectUnavailable(value);
          // A hang, cut by the limit (not a quick refusal: the proxy really held the traffic).
          expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
          expect(ms).toBeLessThanOrEqual(TIMEOUT_MS + LATE_MS);
        }
        // Each method's first store call gets no answer, so each rejects at that call's limit.
        await Promise.all([
          expectManagerUnavailable(() => manager.create({ accountId, actor, name: "created in the dark" }), TIMEOUT_MS),
          expectManagerUnavailable(() => manager.list({ accountId }), TIMEOUT_MS),
          expectManagerUnavailable(() => manager.revoke({ accountId, actor, id: ids.target as string }), TIMEOUT_MS),
        ]);
        const { ms } = await timed(() => closing.close());
        expect(ms).toBeLessThanOrEqual(TIMEOUT_MS + LATE_MS);
      } finally {
        await proxy.restore();
      }
      // The network held the create's insert and delivers it now, after the caller got 503: the key
      // (whose plaintext nobody has) must land revoked, never as a working key.
      await eventually(
        async () => {
          const rows = (await backend().direct.listByAccount(accountId)).filter((r) => r.name === "created in the dark");
          return rows.length === 1 && rows[0]?.revokedAt !== null;
        },
        5_000,
        "the late insert to be revoked",
      );
      await sleep(50);
      expect(unhandled).toEqual([]);
    });

    it.sequential("reset (a crashed server): the channel is reported down at once, and from then nothing passes, not even a key cached before; the manager rejects with 503", async () => {
      const { proxy, direct } = backend();
      await warm("crashed", "steady");
      await proxy.reset();
      // A channel that fails visibly (an error, a closed socket) is reported down at once.
      await waitFor(() => !channelUp(), 1_000, "the channel to be reported down after the reset");
      const results = await Promise.all([
        timed(() => auth.authenticate(req("crashed"))), // cached before the reset
        timed(() => auth.authenticate(req("steady"))), // cached before the reset
        timed(() => auth.authenticate(req("cold"))),
        timed(() => plain.authenticate(req("steady"))),
      ]);
      for (const { value, ms } of results) {
        expectUnavailable(value);
        expect(ms).toBeLessThanOrEqual(TIMEOUT_MS + LATE_MS);
      }
      await Promise.all([
        expectManagerUnavailable(() => manager.create({ accountId, actor, name: "created while down" }), TIMEOUT_MS),
        expectManagerUnavailable(() => manager.list({ accountId }), TIMEOUT_MS),
        expectManagerUnavailable(() => manager.revoke({ accountId, actor, id: ids.target as string }), TIMEOUT_MS),
      ]);
      // Another server revokes "crashed" while this one is cut off (its announcement is lost here).
      const { value: revoked, ms } = await timed(() => direct.revoke(ids.crashed as string));
      expect(revoked?.revokedAt).toBeInstanceOf(Date);
      expect(ms).toBeLessThanOrEqual(CONFIRM_MS + LATE_MS);
      // Still down: still 503 for the key cached before, never a pass.
      expectUnavailable(await auth.authenticate(req("crashed")));
      await sleep(50);
      expect(unhandled).toEqual([]);
    });

    it.sequential("restored: the same authenticator recovers by itself, and the key revoked during the outage is refused although it was cached before", async () => {
      const { proxy } = backend();
      await proxy.restore();
      // Every answer on the way back: the revoked key never passes, the others pass again.
      await expectRecovery("crashed", "recovery after the reset");
      expect((await plain.authenticate(req("steady"))).ok).toBe(true);
      await warm("steady"); // the cache is trusted again
      // The manager recovers too. A create answered 503 during the outage may still land now (a
      // client that queues commands while reconnecting, as ioredis does, sends it once back): it
      // must end up revoked, never as a working key whose plaintext nobody has.
      const createdWhileDown = async (): Promise<string[]> =>
        (await manager.list({ accountId })).filter((r) => r.name === "created while down").map((r) => r.status);
      await eventually(async () => (await createdWhileDown()).every((status) => status === "revoked"), 3_000, "a late create to be revoked");
      await sleep(200);
      expect((await createdWhileDown()).filter((status) => status !== "revoked")).toEqual([]);
      expect((await manager.list({ accountId })).find((r) => r.id === ids.crashed)?.status).toBe("revoked");
      expect(unhandled).toEqual([]);
    });

    it.sequential("a crash while the channel is subscribing again: it recovers with exactly one listening connection", async () => {
      const { proxy, listens } = backend();
      await warm("steady");
      await proxy.reset();
      await waitFor(() => !channelUp(), 1_000, "the channel to be reported down");
      // The server comes back, and crashes again while the channel's LISTEN / SUBSCRIBE is in flight.
      proxy.blackholeWhen(listens);
      await proxy.restore();
      await waitFor(() => proxy.mode === "blackhole", 5_000, "the channel to subscribe again");
      await proxy.reset();
      await sleep(100);
      await proxy.restore();
      // One drop, one reconnect.
      await expectRecoveredWithOneListener();
      expect(unhandled).toEqual([]);
    });

    it.sequential("closed and used again during an outage: it subscribes again and recovers, and a connection from before the close that completes last is let go", async () => {
      const { proxy } = backend();
      await warm("steady");
      await proxy.reset();
      await waitFor(() => !channelUp(), 1_000, "the channel to be reported down");
      // The server accepts connections again but hangs: the channel's next attempt gets stuck.
      await proxy.restore();
      proxy.blackhole();
      const stuckFrom = proxy.accepted;
      await waitFor(() => proxy.accepted > stuckFrom, 5_000, "an attempt to reconnect");
      // Every listener stops meanwhile (auth.close(): "it stays usable")...
      await within(auth.close(), 3_000, "auth.close() during the outage");
      stopStatus?.();
      // ...and it is used again, so it subscribes again: that attempt gets stuck too.
      const reopenedFrom = proxy.accepted;
      stopStatus = listenToStatus();
      expectUnavailable(await auth.authenticate(req("steady")));
      await waitFor(() => proxy.accepted > reopenedFrom, 3_000, "the new subscription to connect");
      // The network heals for the new connections first; the one from before the close completes last.
      const { listens } = backend();
      await proxy.restore((connection) => connection > reopenedFrom);
      await waitFor(() => [...proxy.connectionsThatSent(listens)].some((c) => c > reopenedFrom), 3_000, "the new subscription to listen");
      await sleep(100);
      await proxy.restore();
      await expectRecoveredWithOneListener();
      // The heartbeat test below finds out whether the channel still watches the connection that
      // really listens (the one from before the close must not have taken its place).
      expect(unhandled).toEqual([]);
    });

    it.sequential("black-holed, cache on: the silent channel is found by the heartbeat (the documented limit); from then even a cached key gets 503, and a key revoked meanwhile is refused after recovery", async () => {
      const { proxy, direct, beats } = backend();
      await warm("silent", "steady");
      const [listener] = listening();
      expect(listening()).toHaveLength(1);
      const blackholedAt = Date.now();
      proxy.blackhole();
      try {
        // Another server revokes "silent". This process cannot acknowledge through the silence: the
        // revoke still resolves after confirmTimeoutMs, naming it, and the key is revoked in the store.
        const { value: revoked, ms } = await timed(() => direct.revoke(ids.silent as string));
        expect(revoked?.revokedAt).toBeInstanceOf(Date);
        expect(ms).toBeLessThanOrEqual(CONFIRM_MS + LATE_MS);
        expect(unconfirmed.map((u) => u.id)).toContain(ids.silent);
        // Documented limit (docs/verification-cache.md): a channel that goes silent without an error
        // is trusted until the heartbeat finds it dead, so the cache still answers meanwhile.
        expect(channelUp()).toBe(true);
        expect((await auth.authenticate(req("silent"))).ok).toBe(true);

        // The next heartbeat goes out into the silence, on the listening connection itself (the
        // presence UPDATE on PostgreSQL, a PING on Redis): only that tells a deaf channel apart.
        await waitFor(() => proxy.heldSince(beats) !== undefined, HEARTBEAT_MS + 1_000, "a heartbeat");
        const beat = proxy.heldSince(beats) as SentChunk;
        expect(beat.connection, "the heartbeat runs on the listening connection").toBe(listener);
        await waitFor(() => !channelUp(), HEARTBEAT_MS + 3_000, "the heartbeat to report the silent channel down");
        const downAt = (statuses.at(-1) as { at: number }).at;
        // Down once the beat got no answer for 5 s, so "about 10 s" at most after the network went silent.
        expect(downAt - beat.at).toBeLessThanOrEqual(HEARTBEAT_MS + 500);
        expect(downAt - blackholedAt).toBeLessThanOrEqual(2 * HEARTBEAT_MS + 500);
        // From then the cache is flushed and bypassed: nothing cached before passes any more.
        for (const name of ["silent", "steady"]) {
          const { value, ms: took } = await timed(() => auth.authenticate(req(name)));
          expectUnavailable(value);
          expect(took).toBeLessThanOrEqual(TIMEOUT_MS + LATE_MS);
        }
      } finally {
        await proxy.restore();
      }
      // Recovery: the revoked key is refused at every moment, and the others pass again.
      await expectRecovery("silent", "recovery after the black hole");
      await sleep(50);
      expect(unhandled).toEqual([]);
    }, 25_000);

    it.sequential("closes cleanly: auth.close() and closing the clients end every connection through the proxy, without hanging", async () => {
      const { proxy } = backend();
      await within(auth.close(), 3_000, "auth.close()");
      await within(plain.close(), 3_000, "plain.close()");
      stopStatus?.();
      await within(backend().closeProxied(), 5_000, "closing the proxied client");
      // The clients closed every connection they had through the proxy, by themselves.
      await waitFor(() => proxy.openSockets === 0, 3_000, `the proxied connections to close (${proxy.openSockets} open)`);
      await proxy.close();
      await within(backend().closeDirect(), 5_000, "closing the direct client");
      closed = true;
      // What else is left open (timers, sockets) is checked once both stores are done, below.
      expect(unhandled).toEqual([]);
    });
  });
}

// The two stores' suites run side by side (each in order), so that their heartbeat waits overlap.
describe.concurrent("KeyStore outages", () => {
  let baseline: Record<string, number> = {};
  beforeAll(() => {
    baseline = holding();
    process.on("unhandledRejection", onUnhandled);
  });
  afterAll(() => {
    process.removeListener("unhandledRejection", onUnhandled);
  });

  describeOutage("PostgresKeyStore through a faulty network (set DATABASE_URL to run)", DATABASE_URL === undefined, async (onUnconfirmed) => {
    const url = DATABASE_URL as string;
    const table = uniqueName("outage");
    const proxy = await FaultProxy.forUrl(url, 5432);
    const directPool = new pg.Pool({ connectionString: url, max: 4 });
    const direct = new PostgresKeyStore({ client: directPool, table, confirmTimeoutMs: CONFIRM_MS, onUnconfirmed });
    await direct.migrate();
    const pool = new pg.Pool({ connectionString: proxy.rewrite(url), max: 8 });
    // pg requires an error handler on a Pool: an idle client whose connection breaks is reported there.
    pool.on("error", () => {});
    const store = new PostgresKeyStore({ client: pool, table });
    return {
      proxy,
      store,
      direct,
      listens: new RegExp(`LISTEN "${store.channel}"`),
      beats: /UPDATE \S+ SET seen_at = now\(\)/,
      closeProxied: () => pool.end(),
      closeDirect: async () => {
        await directPool.query(`DROP TABLE IF EXISTS "${table}", "${table}_migrations", "${table}_listeners"`);
        await directPool.end();
      },
    };
  });

  describeOutage("RedisKeyStore through a faulty network (set REDIS_URL to run)", REDIS_URL === undefined, async (onUnconfirmed) => {
    const url = REDIS_URL as string;
    const prefix = `${uniqueName("outage")}:`;
    const proxy = await FaultProxy.forUrl(url, 6379);
    const directClient = new Redis(url);
    const direct = new RedisKeyStore({ client: directClient, prefix, confirmTimeoutMs: CONFIRM_MS, onUnconfirmed });
    const client = new Redis(proxy.rewrite(url));
    client.on("error", () => {});
    const store = new RedisKeyStore({ client, prefix });
    const escaped = store.channel.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return {
      proxy,
      store,
      direct,
      // RESP: *2 $9 subscribe $<n> <channel>, and *1 $4 ping.
      listens: new RegExp(`\\$9\\r\\nsubscribe\\r\\n\\$\\d+\\r\\n${escaped}\\r\\n`, "i"),
      beats: /\$4\r\nping\r\n/i,
      closeProxied: async () => {
        await client.quit().catch(() => client.disconnect());
      },
      closeDirect: async () => {
        const leftover = await directClient.keys(`${prefix}*`);
        if (leftover.length > 0) await directClient.del(...leftover);
        await directClient.quit();
      },
    };
  });

  // After both stores' suites: every authenticator closed, every client closed.
  (DATABASE_URL === undefined && REDIS_URL === undefined ? it.skip : it.sequential)(
    "afterwards no socket or timer is left that would keep the test worker alive",
    async () => {
      const leftover = (): Record<string, number> =>
        Object.fromEntries(Object.entries(holding()).filter(([type, n]) => n > (baseline[type] ?? 0)));
      await waitFor(() => Object.keys(leftover()).length === 0, 3_000, "nothing left").catch(() => {
        throw new Error(`still keeping the process alive: ${JSON.stringify(leftover())}`);
      });
      expect(unhandled).toEqual([]);
    },
  );
});

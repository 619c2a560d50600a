// Key management under concurrency, on every store this package ships: what a busy "Settings > API"
// page, or two administrators clicking at once on two servers, does to the same key.
//
// Each store is opened as two "servers": two store instances (two connections, two Redis clients)
// on the same database / table / prefix, each with its own manager and authenticators. The memory
// store cannot be shared between instances, so its two servers share one MemoryKeyStore.
// Racing cases run many iterations with random small delays; the interleavings that matter most
// are also forced, with a store wrapper that holds a chosen call until the test releases it.
//
// PGlite always runs; PostgreSQL with DATABASE_URL; Redis with REDIS_URL (skipped otherwise).
import { PGlite } from "@electric-sql/pglite";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createApiKeyAuth,
  createKeyManager,
  isApiKeyError,
  MemoryKeyStore,
  type ApiKeyAuth,
  type ApiKeyRecord,
  type ApiKeyRevocation,
  type ApiKeyUsage,
  type KeyManager,
  type KeyStore,
  type RevokeOptions,
  type RotatedApiKey,
} from "../../src/index.js";
import { PostgresKeyStore } from "../../src/stores/postgres/index.js";
import { RedisKeyStore } from "../../src/stores/redis/index.js";
import { createFakeClock, type FakeClock } from "../../src/testing/index.js";
import { DATABASE_URL, REDIS_URL, uniqueName } from "../stores/helpers.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const admin = { id: "usr_admin", admin: true };
const otherAdmin = { id: "usr_other_admin", admin: true };

// ---------------------------------------------------------------------------------------------
// Stores: two instances on one database each.

interface Backend {
  /** The two servers' stores (the same object for the memory store). */
  readonly a: KeyStore;
  readonly b: KeyStore;
  /**
   * A third server on the same database whose revocation announcements arrive SLOW_MS late (a
   * slow network to its listening connection); `null` for the memory store, whose announcements
   * are synchronous calls.
   */
  readonly slow: KeyStore | null;
  close(): Promise<void>;
}

const SLOW_MS = 40;
function later<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args) => void setTimeout(() => fn(...args), SLOW_MS);
}

const backends: [name: string, enabled: boolean, open: () => Promise<Backend>][] = [
  [
    "MemoryKeyStore",
    true,
    async () => {
      const store = new MemoryKeyStore();
      return { a: store, b: store, slow: null, close: async () => {} };
    },
  ],
  [
    "PGlite",
    true,
    async () => {
      const db = await PGlite.create();
      const table = uniqueName("conc");
      const a = new PostgresKeyStore({ client: db, table });
      await a.migrate();
      const b = new PostgresKeyStore({ client: db, table });
      // The same database, its NOTIFY payloads handed over late.
      const slowDb = new Proxy(db, {
        get(target, property) {
          if (property === "listen") {
            return (channel: string, callback: (payload: string) => void) => target.listen(channel, later(callback));
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      return { a, b, slow: new PostgresKeyStore({ client: slowDb, table }), close: () => db.close() };
    },
  ],
  [
    DATABASE_URL !== undefined ? "PostgreSQL" : "PostgreSQL (skipped: DATABASE_URL is not set)",
    DATABASE_URL !== undefined,
    async () => {
      const poolA = new pg.Pool({ connectionString: DATABASE_URL, max: 6 });
      const poolB = new pg.Pool({ connectionString: DATABASE_URL, max: 6 });
      const poolSlow = new pg.Pool({ connectionString: DATABASE_URL, max: 3 });
      for (const pool of [poolA, poolB, poolSlow]) pool.on("error", () => {});
      // Every connection of this pool hears its notifications late.
      poolSlow.on("connect", (client) => {
        const on = client.on.bind(client);
        const off = client.removeListener.bind(client);
        const wrapped = new Map<unknown, unknown>();
        Object.assign(client, {
          on(event: string, listener: (...args: unknown[]) => void) {
            if (event !== "notification") return on(event as "error", listener);
            const slow = later(listener);
            wrapped.set(listener, slow);
            return on("notification", slow);
          },
          removeListener(event: string, listener: unknown) {
            return off(event as never, (wrapped.get(listener) ?? listener) as never);
          },
        });
      });
      const table = uniqueName("conc");
      const a = new PostgresKeyStore({ client: poolA, table });
      await a.migrate();
      const b = new PostgresKeyStore({ client: poolB, table });
      await b.migrate();
      return {
        a,
        b,
        slow: new PostgresKeyStore({ client: poolSlow, table }),
        close: async () => {
          await poolA.query(`DROP TABLE IF EXISTS "${table}", "${table}_migrations", "${table}_listeners"`);
          await poolA.end();
          await poolB.end();
          await poolSlow.end();
        },
      };
    },
  ],
  [
    REDIS_URL !== undefined ? "Redis" : "Redis (skipped: REDIS_URL is not set)",
    REDIS_URL !== undefined,
    async () => {
      const clientA = new Redis(REDIS_URL as string);
      const clientB = new Redis(REDIS_URL as string);
      const clientSlow = new Redis(REDIS_URL as string);
      // Its subscriber connections (duplicates) hear their messages late.
      const duplicate = clientSlow.duplicate.bind(clientSlow);
      clientSlow.duplicate = (...args: Parameters<Redis["duplicate"]>) => {
        const conn = duplicate(...args);
        const on = conn.on.bind(conn);
        conn.on = ((event: string, listener: (...a: unknown[]) => void) => on(event, event === "message" ? later(listener) : listener)) as Redis["on"];
        return conn;
      };
      const prefix = `${uniqueName("conc")}:`;
      return {
        a: new RedisKeyStore({ client: clientA, prefix }),
        b: new RedisKeyStore({ client: clientB, prefix }),
        slow: new RedisKeyStore({ client: clientSlow, prefix }),
        close: async () => {
          const keys = await clientA.keys(`${prefix}*`);
          if (keys.length > 0) await clientA.del(...keys);
          clientA.disconnect();
          clientB.disconnect();
          clientSlow.disconnect();
        },
      };
    },
  ],
];

// ---------------------------------------------------------------------------------------------
// A store wrapper that can hold (or fail) chosen calls: to force one interleaving exactly.

type Method = "insert" | "getByHash" | "getById" | "listByAccount" | "revoke" | "recordUsage";
type Hook = (method: Method, args: unknown[]) => Promise<void> | void;

class GatedStore implements KeyStore {
  hook: Hook | undefined;
  constructor(readonly inner: KeyStore) {}
  /** The inner store's confirmation wait, so the manager's time limit for revoke stays the same. */
  get confirmTimeoutMs(): unknown {
    return (this.inner as { confirmTimeoutMs?: unknown }).confirmTimeoutMs;
  }
  private async run<T>(method: Method, args: unknown[], call: () => Promise<T>): Promise<T> {
    await this.hook?.(method, args);
    return call();
  }
  insert(record: ApiKeyRecord) {
    return this.run("insert", [record], () => this.inner.insert(record));
  }
  getByHash(hash: string) {
    return this.run("getByHash", [hash], () => this.inner.getByHash(hash));
  }
  getById(id: string) {
    return this.run("getById", [id], () => this.inner.getById(id));
  }
  listByAccount(accountId: string) {
    return this.run("listByAccount", [accountId], () => this.inner.listByAccount(accountId));
  }
  revoke(id: string, options?: RevokeOptions) {
    return this.run("revoke", [id, options], () => this.inner.revoke(id, options));
  }
  recordUsage(batch: readonly ApiKeyUsage[]) {
    return this.run("recordUsage", [batch], () => this.inner.recordUsage(batch));
  }
  subscribeRevocations(listener: (r: ApiKeyRevocation) => void, onStatus?: (connected: boolean) => void): () => void {
    return this.inner.subscribeRevocations?.(listener, onStatus) ?? (() => {});
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** A random small delay: none, a microtask, a macrotask, or 1 to 3 ms. */
function jitter(): Promise<void> {
  const pick = Math.floor(Math.random() * 4);
  if (pick === 0) return Promise.resolve();
  if (pick === 1) return new Promise((r) => queueMicrotask(r));
  if (pick === 2) return new Promise((r) => setImmediate(r));
  return new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 3)));
}

async function after<T>(run: () => Promise<T>): Promise<T> {
  await jitter();
  return run();
}

function errorOf(result: PromiseSettledResult<unknown>): [number | undefined, string] {
  if (result.status !== "rejected") return [undefined, "fulfilled"];
  const e: unknown = result.reason;
  if (!isApiKeyError(e)) throw e;
  return [e.status, e.code];
}

/** One "server": a manager and an authenticator on its own store. */
interface Server {
  manager: KeyManager;
  auth: ApiKeyAuth;
  accepts(key: string): Promise<boolean>;
}

function server(store: KeyStore, clock?: { now(): number }, cache = false): Server {
  const manager = createKeyManager({ store, clock });
  const auth = createApiKeyAuth({ store, clock, ...(cache ? { cache: { ttlMs: HOUR, max: 1000 } } : {}) });
  return {
    manager,
    auth,
    accepts: async (key) => (await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok,
  };
}

async function successorsOf(store: KeyStore, accountId: string, id: string): Promise<ApiKeyRecord[]> {
  return (await store.listByAccount(accountId)).filter((r) => r.rotatedFromId === id);
}

/** Records that still work at `now` (the authenticator's rule: a non-rotation revocation holds from 60 s before its time). */
function working(records: ApiKeyRecord[], now: number): ApiKeyRecord[] {
  return records.filter((r) => r.revokedAt === null || r.revokedAt.getTime() > (r.revokedReason === "rotated" ? now : now + MINUTE));
}

// ---------------------------------------------------------------------------------------------

describe.each(backends)("key management under concurrency on %s", (_name, enabled, open) => {
  let backend: Backend;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    if (enabled) backend = await open();
  });
  afterAll(async () => {
    try {
      // Authenticators a failed test left open: close them, whatever happens, then drop the data.
      for (const close of closers.reverse()) await close().catch(() => {});
    } finally {
      if (enabled) await backend.close();
    }
  });

  it.skipIf(!enabled)("two rotations of one working key at once on two servers: exactly one wins, the other is 409; one working successor; the old key's grace is the winner's", async () => {
    const A = server(backend.a);
    const B = server(backend.b);
    for (let i = 0; i < 20; i++) {
      const accountId = uniqueName("acc");
      const old = await A.manager.create({ accountId, actor: admin, name: "Production" });
      // Different graces, so whose grace the old key ended up with is visible.
      const graceA = (1 + (i % 3)) * HOUR;
      const graceB = (4 + (i % 2)) * HOUR;
      const calls: Promise<RotatedApiKey>[] = [
        after(() => A.manager.rotate({ accountId, actor: admin, id: old.record.id, gracePeriodMs: graceA })),
        after(() => B.manager.rotate({ accountId, actor: otherAdmin, id: old.record.id, gracePeriodMs: graceB })),
      ];
      // Every other round a second click on one of the servers too.
      if (i % 2 === 1) calls.push(after(() => B.manager.rotate({ accountId, actor: otherAdmin, id: old.record.id, gracePeriodMs: graceB })));
      const results = await Promise.allSettled(calls);
      const winners = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(winners, `round ${i}: rotations that succeeded`).toHaveLength(1);
      for (const r of results) if (r.status === "rejected") expect(errorOf(r)).toEqual([409, "CONFLICT"]);
      const winner = winners[0] as RotatedApiKey;

      const successors = await successorsOf(backend.b, accountId, old.record.id);
      expect(working(successors, Date.now()).map((r) => r.id), `round ${i}: working successors`).toEqual([winner.record.id]);
      const stored = await backend.b.getById(old.record.id);
      expect([stored?.revokedAt?.getTime(), stored?.revokedReason]).toEqual([winner.graceEndsAt.getTime(), "rotated"]);
      expect(winner.previous.revokedAt?.getTime()).toBe(winner.graceEndsAt.getTime());
      // Both servers accept the new key and, during the grace, the old one.
      for (const s of [A, B]) {
        expect(await s.accepts(winner.key)).toBe(true);
        expect(await s.accepts(old.key)).toBe(true);
      }
      // And the key is still "already rotated" for a later click.
      const again = await Promise.allSettled([A.manager.rotate({ accountId, actor: admin, id: old.record.id })]);
      expect(errorOf(again[0] as PromiseSettledResult<unknown>)).toEqual([409, "CONFLICT"]);
    }
  });

  it.skipIf(!enabled)("the same rotation race, forced: the second server reads the key before the first server's rotation lands", async () => {
    // Server A read the key (working, not rotated yet); its successor's insert is held until server
    // B's whole rotation is done.
    const gated = new GatedStore(backend.a);
    const A = server(gated);
    const B = server(backend.b);
    const accountId = uniqueName("acc");
    const old = await A.manager.create({ accountId, actor: admin, name: "Production" });
    const readDone = deferred();
    const release = deferred();
    gated.hook = async (method) => {
      if (method === "insert") {
        readDone.resolve();
        await release.promise;
      }
    };
    const first = A.manager.rotate({ accountId, actor: admin, id: old.record.id, gracePeriodMs: HOUR });
    await readDone.promise; // A read the key (working, not rotated) and is about to store its successor
    const second = await B.manager.rotate({ accountId, actor: otherAdmin, id: old.record.id, gracePeriodMs: 2 * HOUR });
    release.resolve();
    const late = await Promise.allSettled([first]);
    gated.hook = undefined;
    expect(errorOf(late[0] as PromiseSettledResult<unknown>)).toEqual([409, "CONFLICT"]);
    const e: unknown = (late[0] as PromiseRejectedResult).reason;
    expect(isApiKeyError(e) && e.message).toBe("API key was already rotated; rotate its replacement instead");
    const successors = await successorsOf(backend.a, accountId, old.record.id);
    expect(working(successors, Date.now()).map((r) => r.id)).toEqual([second.record.id]);
    const stored = await backend.a.getById(old.record.id);
    expect(stored?.revokedAt?.getTime()).toBe(second.graceEndsAt.getTime());
  });

  it.skipIf(!enabled)("two rotations of one revoked key at once on two servers: exactly one successor, the old key untouched", async () => {
    const A = server(backend.a);
    const B = server(backend.b);
    for (let i = 0; i < 15; i++) {
      const accountId = uniqueName("acc");
      const old = await A.manager.create({ accountId, actor: admin, name: "Leaked" });
      const revoked = await B.manager.revoke({ accountId, actor: otherAdmin, id: old.record.id });
      const results = await Promise.allSettled([
        after(() => A.manager.rotate({ accountId, actor: admin, id: old.record.id })),
        after(() => B.manager.rotate({ accountId, actor: otherAdmin, id: old.record.id })),
      ]);
      const winners = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(winners, `round ${i}: rotations that succeeded`).toHaveLength(1);
      for (const r of results) if (r.status === "rejected") expect(errorOf(r)).toEqual([409, "CONFLICT"]);
      const successors = await successorsOf(backend.a, accountId, old.record.id);
      expect(working(successors, Date.now()).map((r) => r.id)).toEqual([winners[0]?.record.id]);
      const stored = await backend.a.getById(old.record.id);
      expect([stored?.revokedAt?.getTime(), stored?.revokedReason]).toEqual([revoked.revokedAt?.getTime(), "revoked"]);
      expect(await A.accepts(old.key)).toBe(false);
    }
  });

  it.skipIf(!enabled)("rotate racing revoke of the same key, in random order: both succeed, the revocation holds on every server (one 30 s behind too) and never moves later", async () => {
    const A = server(backend.a);
    const B = server(backend.b);
    // A server whose clock runs 30 s behind: within the minute the docs allow.
    const lagging = server(backend.b, { now: () => Date.now() - 30_000 });
    for (let i = 0; i < 20; i++) {
      const accountId = uniqueName("acc");
      const old = await A.manager.create({ accountId, actor: admin, name: "Production" });
      const gracePeriodMs = i % 2 === 0 ? 0 : HOUR;
      const [rotation, revocation] = await Promise.allSettled([
        after(() => A.manager.rotate({ accountId, actor: admin, id: old.record.id, gracePeriodMs })),
        after(() => B.manager.revoke({ accountId, actor: otherAdmin, id: old.record.id })),
      ]);
      expect(rotation.status, `round ${i}: rotation`).toBe("fulfilled");
      expect(revocation.status, `round ${i}: revocation`).toBe("fulfilled");
      if (rotation.status !== "fulfilled" || revocation.status !== "fulfilled") continue;
      const revoked = revocation.value;
      expect(revoked.status).toBe("revoked");
      const stored = await backend.a.getById(old.record.id);
      // What revoke answered stays what is stored: a rotation that landed after it never replaces
      // it (an earlier "rotated" time would end the 60 s allowance for servers running behind).
      expect(stored?.revokedAt?.getTime(), `round ${i}: stored revocation vs revoke's answer`).toBe(revoked.revokedAt?.getTime());
      for (const s of [A, B]) expect(await s.accepts(old.key), `round ${i}: old key`).toBe(false);
      // A revocation by revoke holds on a server whose clock runs behind; only when the rotation
      // (grace 0) landed first, so revoke had nothing to change, does the grace's exact end apply.
      if (stored?.revokedReason !== "rotated") expect(await lagging.accepts(old.key), `round ${i}: old key, 30 s behind`).toBe(false);
      // The caller got the plaintext of the only working successor.
      expect(await A.accepts(rotation.value.key)).toBe(true);
      const live = working(await successorsOf(backend.a, accountId, old.record.id), Date.now());
      expect(live.map((r) => r.id)).toEqual([rotation.value.record.id]);
    }
  });

  it.skipIf(!enabled)("rotate racing revoke, forced: the rotation read the key, the revocation resolved, then the rotation's grace lands; the revocation still holds (also 30 s behind) and keeps its reason", async () => {
    for (const gracePeriodMs of [0, 5_000]) {
      const clock = createFakeClock(Date.UTC(2025, 5, 1, 12));
      const gated = new GatedStore(backend.a);
      const A = server(gated, clock);
      const B = server(backend.b, clock);
      const lagging = server(backend.b, { now: () => clock.now() - 30_000 });
      const accountId = uniqueName("acc");
      const old = await A.manager.create({ accountId, actor: admin, name: "Production" });
      const scheduling = deferred();
      const release = deferred();
      gated.hook = async (method, args) => {
        if (method === "revoke" && args[0] === old.record.id) {
          scheduling.resolve();
          await release.promise;
        }
      };
      const rotation = A.manager.rotate({ accountId, actor: admin, id: old.record.id, gracePeriodMs });
      await scheduling.promise; // the successor is stored; the old key's grace is about to be scheduled
      clock.advance(10_000);
      const revoked = await B.manager.revoke({ accountId, actor: otherAdmin, id: old.record.id });
      expect(revoked.revokedAt?.getTime()).toBe(clock.now());
      expect(await lagging.accepts(old.key)).toBe(false); // in force at once, also 30 s behind
      release.resolve();
      const rotated = await rotation;
      gated.hook = undefined;

      const stored = await backend.b.getById(old.record.id);
      expect([stored?.revokedAt?.getTime(), stored?.revokedReason], `grace ${gracePeriodMs}`).toEqual([revoked.revokedAt?.getTime(), "revoked"]);
      for (const s of [A, B, lagging]) expect(await s.accepts(old.key), `grace ${gracePeriodMs}: old key`).toBe(false);
      expect(await B.accepts(rotated.key)).toBe(true);
      expect(rotated.graceEndsAt.getTime()).toBe(revoked.revokedAt?.getTime());
      expect(rotated.previous.status).toBe("revoked");
    }
  });

  it.skipIf(!enabled)("many revokes of one key at once on two servers: all resolve revoked, the earliest time is kept, and again keeps it", async () => {
    const A = server(backend.a);
    const B = server(backend.b);
    for (let i = 0; i < 10; i++) {
      const accountId = uniqueName("acc");
      const k = await A.manager.create({ accountId, actor: admin, name: "K" });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, j) =>
          after(async () => {
            const row = await (j % 2 === 0 ? A : B).manager.revoke({ accountId, actor: admin, id: k.record.id });
            // Once a revoke resolved, no server accepts the key.
            expect(await A.accepts(k.key)).toBe(false);
            expect(await B.accepts(k.key)).toBe(false);
            return row;
          }),
        ),
      );
      const times = results.map((r) => r.revokedAt?.getTime() ?? Number.NaN);
      expect(results.every((r) => r.status === "revoked" && r.revokedAt !== null)).toBe(true);
      const stored = await backend.b.getById(k.record.id);
      expect(stored?.revokedAt?.getTime()).toBe(Math.min(...times));
      expect(stored?.revokedReason).toBe("revoked");
      const again = await B.manager.revoke({ accountId, actor: admin, id: k.record.id });
      expect(again.revokedAt?.getTime()).toBe(Math.min(...times));
    }
  });

  it.skipIf(!enabled)("many revokes of one key at once with a verification cache on both servers: once any of them resolves, no server accepts the key", async () => {
    const A = server(backend.a);
    const B = server(backend.b);
    const Ac = server(backend.a, undefined, true);
    const Bc = server(backend.b, undefined, true);
    // A third server that hears announcements SLOW_MS late: a revoke that resolves before it heard
    // one leaves it accepting the key.
    const Sc = backend.slow === null ? null : server(backend.slow, undefined, true);
    const cached: [string, Server][] = [["A (cached)", Ac], ["B (cached)", Bc]];
    if (Sc !== null) cached.push(["slow (cached)", Sc]);
    closers.push(...cached.map(([, s]) => () => s.auth.close()));
    const accountId = uniqueName("acc");
    for (let i = 0; i < 12; i++) {
      const k = await A.manager.create({ accountId, actor: admin, name: `K${i}` });
      for (const [, s] of cached) expect(await s.accepts(k.key)).toBe(true); // cached now
      const late: string[] = [];
      await Promise.all(
        Array.from({ length: 4 }, (_, j) =>
          // The first click, then the others while it waits for the servers' confirmations.
          new Promise((r) => setTimeout(r, j === 0 ? 0 : 1 + (j % 3) * 5))
            .then(() => (j % 2 === 0 ? A : B).manager.revoke({ accountId, actor: admin, id: k.record.id }))
            .then(async () => {
              for (const [name, s] of cached) {
                if (await s.accepts(k.key)) late.push(`revoke ${j} resolved, ${name} still accepted the key`);
              }
            }),
        ),
      );
      expect(late, `round ${i}`).toEqual([]);
    }
    for (const [, s] of cached) await s.auth.close();
  });

  it.skipIf(!enabled)("create racing list on two servers: a listed row is always complete, lists only grow, and every key is there at the end", async () => {
    const A = server(backend.a);
    const B = server(backend.b);
    const accountId = uniqueName("acc");
    let creating = true;
    const seen: Map<string, unknown>[] = [];
    const lister = async (s: Server) => {
      let previous = new Set<string>();
      let lists = 0;
      while (creating || lists < 2) {
        const rows = await s.manager.list({ accountId });
        const ids = new Set(rows.map((r) => r.id));
        for (const id of previous) expect(ids.has(id), `a listed key disappeared: ${id}`).toBe(true);
        previous = ids;
        seen.push(new Map(rows.map((r) => [r.id, r])));
        for (let n = 1; n < rows.length; n++) {
          expect((rows[n - 1]?.createdAt.getTime() ?? 0) <= (rows[n]?.createdAt.getTime() ?? 0)).toBe(true);
        }
        lists++;
        await jitter();
      }
    };
    const listers = [lister(A), lister(B), lister(A)];
    const created = await Promise.all(
      Array.from({ length: 24 }, (_, j) =>
        after(() =>
          (j % 2 === 0 ? A : B).manager.create({
            accountId,
            actor: j % 2 === 0 ? admin : otherAdmin,
            name: `Key ${j}`,
            environment: j % 3 === 0 ? "dev" : "prod",
            permissions: j % 4 === 0 ? "read-only" : "all",
            expiresAt: j % 5 === 0 ? new Date(Date.now() + HOUR) : undefined,
            metadata: { j },
          }),
        ),
      ),
    );
    creating = false;
    await Promise.all(listers);
    const byId = new Map(created.map((c) => [c.record.id, c.record]));
    for (const list of seen) {
      for (const [id, row] of list) {
        const r = byId.get(id);
        expect(r, `listed a key nobody created: ${id}`).toBeDefined();
        expect(row).toEqual({
          id,
          name: r?.name,
          hint: r?.hint,
          environment: r?.environment,
          permissions: r?.permissions,
          createdAt: r?.createdAt,
          createdBy: r?.createdBy,
          lastUsedAt: null,
          expiresAt: r?.expiresAt,
          revokedAt: null,
          rotatedFromId: null,
          status: "active",
        });
      }
    }
    const final = await B.manager.list({ accountId });
    expect(final.map((r) => r.id).sort()).toEqual([...byId.keys()].sort());
    for (const c of created) expect(await A.accepts(c.key)).toBe(true);
  });

  it.skipIf(!enabled)("rotations during a running grace while both servers keep authenticating: the old keys stop exactly at their grace ends, never after", async () => {
    for (let round = 0; round < 3; round++) {
      const clock: FakeClock = createFakeClock(Date.UTC(2025, 5, 1, 8 + round));
      const A = server(backend.a, clock);
      const B = server(backend.b, clock);
      const Ac = server(backend.a, clock, true);
      const Bc = server(backend.b, clock, true);
      closers.push(() => Ac.auth.close(), () => Bc.auth.close());
      const everyone = [A, B, Ac, Bc];
      const accountId = uniqueName("acc");
      const k0 = await A.manager.create({ accountId, actor: admin, name: "Production" });
      for (const s of everyone) expect(await s.accepts(k0.key)).toBe(true); // cached where there is a cache
      const r1 = await A.manager.rotate({ accountId, actor: admin, id: k0.record.id, gracePeriodMs: HOUR });
      const k1 = r1.key;
      const grace2 = (10 + round * 5) * MINUTE;

      let racing = true;
      const authLoop = (async () => {
        let checks = 0;
        while (racing || checks < 2) {
          for (const s of everyone) {
            expect(await s.accepts(k0.key), "the old key during its grace").toBe(true);
            expect(await s.accepts(k1), "the first successor").toBe(true);
          }
          checks++;
          await jitter();
        }
      })();
      const results = await Promise.allSettled([
        after(() => A.manager.rotate({ accountId, actor: admin, id: k0.record.id, gracePeriodMs: 5 * HOUR })),
        after(() => B.manager.rotate({ accountId, actor: otherAdmin, id: k0.record.id })),
        after(() => A.manager.rotate({ accountId, actor: admin, id: r1.record.id, gracePeriodMs: grace2 })),
        after(() => B.manager.rotate({ accountId, actor: otherAdmin, id: r1.record.id, gracePeriodMs: grace2 })),
      ]);
      racing = false;
      await authLoop;
      expect(errorOf(results[0] as PromiseSettledResult<unknown>)).toEqual([409, "CONFLICT"]);
      expect(errorOf(results[1] as PromiseSettledResult<unknown>)).toEqual([409, "CONFLICT"]);
      const second = results.slice(2).flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(second, `round ${round}: rotations of the first successor that succeeded`).toHaveLength(1);
      for (const r of results.slice(2)) if (r.status === "rejected") expect(errorOf(r)).toEqual([409, "CONFLICT"]);
      const r2 = second[0] as RotatedApiKey;
      expect(r2.graceEndsAt.getTime()).toBe(clock.now() + grace2);
      expect((await backend.a.getById(k0.record.id))?.revokedAt?.getTime()).toBe(r1.graceEndsAt.getTime());
      expect((await backend.b.getById(r1.record.id))?.revokedAt?.getTime()).toBe(r2.graceEndsAt.getTime());

      // Walk the clock over both grace ends: each old key works to the ms before, and never after.
      const steps = [
        [r2.graceEndsAt.getTime() - 1, true, true],
        [r2.graceEndsAt.getTime(), true, false],
        [r1.graceEndsAt.getTime() - 1, true, false],
        [r1.graceEndsAt.getTime(), false, false],
        [r1.graceEndsAt.getTime() + HOUR, false, false],
      ] as const;
      for (const [t, k0Works, k1Works] of steps) {
        clock.set(t);
        for (const s of everyone) {
          expect(await s.accepts(k0.key), `k0 at ${t - r1.graceEndsAt.getTime()} ms from its grace end`).toBe(k0Works);
          expect(await s.accepts(k1), `k1 at ${t - r2.graceEndsAt.getTime()} ms from its grace end`).toBe(k1Works);
          expect(await s.accepts(r2.key)).toBe(true);
        }
      }
      await Ac.auth.close();
      await Bc.auth.close();
    }
  });

  it.skipIf(!enabled)("rotationStatus and unused while two servers rotate the same key: consistent answers, and the winner's rotation at the end", async () => {
    const A = server(backend.a);
    const B = server(backend.b);
    for (let i = 0; i < 10; i++) {
      const accountId = uniqueName("acc");
      const old = await A.manager.create({ accountId, actor: admin, name: "Production" });
      const other = await A.manager.create({ accountId, actor: admin, name: "Other" });
      let racing = true;
      const graceSeen: number[] = [];
      const nextSeen: string[] = [];
      const poll = async (s: Server) => {
        let polls = 0;
        while (racing || polls < 1) {
          const st = await s.manager.rotationStatus({ accountId, id: old.record.id }).catch((e: unknown) => {
            if (isApiKeyError(e) && e.status === 404) return null;
            throw e;
          });
          if (st !== null) {
            expect(st.previous.id).toBe(old.record.id);
            expect(st.next.rotatedFromId).toBe(old.record.id);
            nextSeen.push(st.next.id);
            if (st.graceEndsAt !== null) graceSeen.push(st.graceEndsAt.getTime());
            if (st.inGrace) expect(st.previous.status).toBe("active");
          }
          const unused = await s.manager.unused({ accountId });
          for (const u of unused) expect(u.status).toBe("active");
          expect(unused.map((u) => u.id)).toContain(other.record.id);
          polls++;
          await jitter();
        }
      };
      const polls = [poll(A), poll(B)];
      const results = await Promise.allSettled([
        after(() => A.manager.rotate({ accountId, actor: admin, id: old.record.id, gracePeriodMs: HOUR })),
        after(() => B.manager.rotate({ accountId, actor: otherAdmin, id: old.record.id, gracePeriodMs: 2 * HOUR })),
      ]);
      racing = false;
      await Promise.all(polls);
      const winners = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(winners, `round ${i}: rotations that succeeded`).toHaveLength(1);
      const winner = winners[0] as RotatedApiKey;
      // Every grace end ever reported is the winner's; every successor ever reported is the winner's.
      for (const g of graceSeen) expect(g).toBe(winner.graceEndsAt.getTime());
      for (const n of nextSeen) expect(n).toBe(winner.record.id);
      for (const s of [A, B]) {
        const st = await s.manager.rotationStatus({ accountId, id: old.record.id });
        expect([st.next.id, st.graceEndsAt?.getTime(), st.inGrace]).toEqual([winner.record.id, winner.graceEndsAt.getTime(), true]);
        const unused = (await s.manager.unused({ accountId })).map((u) => u.id).sort();
        expect(unused).toEqual([old.record.id, other.record.id, winner.record.id].sort());
      }
    }
  });

  it.skipIf(!enabled)("a rotation that failed part-way, retried on the other server (same millisecond, or a clock 2 s behind): rotationStatus names the working successor", async () => {
    const clock = createFakeClock(Date.UTC(2025, 5, 2, 9));
    const gated = new GatedStore(backend.a);
    const A = server(gated, clock);
    for (let i = 0; i < 6; i++) {
      const B = server(backend.b, i % 2 === 0 ? clock : { now: () => clock.now() - 2_000 });
      const accountId = uniqueName("acc");
      const old = await A.manager.create({ accountId, actor: admin, name: "Production" });
      gated.hook = (method, args) => {
        if (method === "revoke" && args[0] === old.record.id) throw new Error("connection reset");
      };
      const failed = await Promise.allSettled([A.manager.rotate({ accountId, actor: admin, id: old.record.id, gracePeriodMs: HOUR })]);
      gated.hook = undefined;
      expect(errorOf(failed[0] as PromiseSettledResult<unknown>)).toEqual([503, "SERVICE_UNAVAILABLE"]);
      expect(await B.accepts(old.key)).toBe(true);
      const retried = await B.manager.rotate({ accountId, actor: otherAdmin, id: old.record.id, gracePeriodMs: HOUR });
      const st = await A.manager.rotationStatus({ accountId, id: old.record.id });
      expect(st.next.id, `round ${i}`).toBe(retried.record.id);
      expect(st.next.status).toBe("active");
      expect([st.graceEndsAt?.getTime(), st.inGrace]).toEqual([retried.graceEndsAt.getTime(), true]);
    }
  });
});

/**
 * A KeyStore on Redis, over an ioredis client. Layout under the prefix:
 * `h:<hash>` a hash with the record (immutable fields as JSON, plus `lastUsedAt`, `revokedAt`,
 * `revokedReason`), `id:<id>` the hash of key `id`, `acct:<accountId>` a sorted set of the
 * account's hashes by creation time. Multi-key changes are Lua scripts: each is one atomic step.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { ApiKeyError, checkOptionNames, invalidOption } from "../../errors.js";
import {
  storableRecord,
  latestUsage,
  revokeReason,
  revokeTime,
  successorConflict,
  type ApiKeyRecord,
  type ApiKeyRevocation,
  type ApiKeyUsage,
  type KeyStore,
  type RevokeOptions,
} from "../../store/key-store.js";
import {
  AcknowledgementWaiter,
  confirmationRequest,
  parseAcknowledgement,
  PRESENCE_TTL_MS,
  reportUnconfirmed,
  confirmOptions,
  type Presence,
  type UnconfirmedRevocationHandler,
} from "../acknowledgements.js";
import { inspectAsSettings } from "../settings-only.js";
import { toRecord, type StoredFields } from "./record-hash.js";
import { RevocationSubscriber } from "./revocation-subscriber.js";
import { GET_BY_ID, INSERT, LIST_BY_ACCOUNT, NOTE_PRESENCE, PRESENT, RECORD_USAGE, REVOKE } from "./scripts.js";

/**
 * Options of {@link RedisKeyStore}.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { RedisKeyStore, type RedisKeyStoreOptions } from "@fluenzr/api-keys/redis";
 * const options: RedisKeyStoreOptions = {
 *   client: new Redis(process.env.REDIS_URL!), // without ioredis' keyPrefix: use `prefix`
 *   prefix: "myapp:apikeys:", // revocations on "myapp:apikeys:revoked"
 *   confirmTimeoutMs: 5_000, // revoke() waits up to 5 s for every cache to drop the key
 * };
 * const store = new RedisKeyStore(options);
 * ```
 */
export interface RedisKeyStoreOptions {
  /**
   * An ioredis client (`new Redis(process.env.REDIS_URL)`). Revocations are heard on a `duplicate()` of it.
   * It must not have ioredis' `keyPrefix` option (refused with `INVALID_OPTIONS`): use `prefix` instead.
   */
  client: Redis;
  /** Prefix of every key the store writes, and of its pub/sub channel. Default `"apikeys:"`. */
  prefix?: string | undefined;
  /**
   * Confirmed revocation: `revoke()` resolves only once every process listening for revocations
   * (every authenticator with a cache, on any server) has dropped the key, or after this many ms,
   * telling `onUnconfirmed` which processes did not confirm (the key is revoked either way).
   * With no process listening, `revoke()` does not wait at all.
   * Default `2000`. `false` turns it off: `revoke()` then resolves as soon as the revocation is
   * stored and announced, and a server with a cache may accept the key until the announcement
   * reaches it (a few ms later).
   */
  confirmTimeoutMs?: number | false | undefined;
  /** Told when a confirmation timed out, with the silent processes (`host:pid`). Default: `console.warn`. */
  onUnconfirmed?: UnconfirmedRevocationHandler | undefined;
}

const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex");

/**
 * A {@link KeyStore} on Redis, over an ioredis client. Every change that touches several keys
 * (insert, revoke, last used) is one Lua script, so it is atomic; a revocation is published on
 * `<prefix>revoked` in the same step, and `revoke()` resolves once every authenticator with a
 * cache, on every server, has confirmed it dropped the key (see `confirmTimeoutMs`). Run Redis
 * with persistence (AOF) if keys must survive a restart.
 *
 * The client must not use ioredis' `keyPrefix`: the Lua scripts name keys that ioredis would not
 * prefix. Give the store's own `prefix` instead.
 *
 * Import from `@fluenzr/api-keys/redis`. Needs the optional peer dependency `ioredis`.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { RedisKeyStore } from "@fluenzr/api-keys/redis";
 * import { createApiKeyAuth } from "@fluenzr/api-keys";
 *
 * const store = new RedisKeyStore({ client: new Redis(process.env.REDIS_URL!) });
 * const auth = createApiKeyAuth({ store, cache: { ttlMs: 60_000, max: 10_000 } });
 * ```
 */
export class RedisKeyStore implements KeyStore {
  /** The client given. */
  readonly client: Redis;
  /** The key prefix. */
  readonly prefix: string;
  /** The pub/sub channel revocations are published on. */
  readonly channel: string;
  private readonly subscriber: RevocationSubscriber;
  private readonly listenersKey: string;
  private readonly ackChannel: string;
  /**
   * How long `revoke()` waits for listening processes to confirm, or `false` (the option as
   * given, default 2000). `createKeyManager` adds it to its store time limit for revocations.
   */
  readonly confirmTimeoutMs: number | false;
  private readonly onUnconfirmed: UnconfirmedRevocationHandler;

  /**
   * The store's settings, without the client: what `JSON.stringify(store)` writes, and what
   * `console.log(store)` shows. The client's options hold the server's address and password, so
   * a store that is logged never prints them.
   *
   * @example
   * ```ts
   * console.log(store); // RedisKeyStore { prefix: 'apikeys:', channel: 'apikeys:revoked', confirmTimeoutMs: 2000 }
   * ```
   */
  toJSON(): { prefix: string; channel: string; confirmTimeoutMs: number | false } {
    return { prefix: this.prefix, channel: this.channel, confirmTimeoutMs: this.confirmTimeoutMs };
  }

  constructor(options: RedisKeyStoreOptions) {
    if (options === null || typeof options !== "object") invalidOption("options", "expected { client }");
    // Each option read once (a getter that throws is INVALID_OPTIONS naming it).
    const o = checkOptionNames(options, ["client", "prefix", "confirmTimeoutMs", "onUnconfirmed"], "RedisKeyStore") as unknown as RedisKeyStoreOptions;
    let usable = false;
    let keyPrefix: unknown;
    try {
      const c = o.client as unknown as Record<string, unknown> | null;
      usable = c !== null && typeof c === "object" && typeof c.evalsha === "function" && typeof c.duplicate === "function";
      // ioredis prefixes the keys it is given as KEYS, but not the ones the scripts build from ARGV:
      // records would be written where list and revoke never look, and a revoked key keep working.
      if (usable) keyPrefix = (c?.options as { keyPrefix?: unknown } | undefined)?.keyPrefix;
    } catch (cause) {
      invalidOption("client", "expected an ioredis client (reading it threw)", cause);
    }
    if (!usable) invalidOption("client", "expected an ioredis client");
    if (keyPrefix !== undefined && keyPrefix !== null && keyPrefix !== "") {
      invalidOption(
        "client",
        `an ioredis client created with keyPrefix is not supported; create it without keyPrefix and give the store's own prefix option instead (new RedisKeyStore({ client, prefix: ${typeof keyPrefix === "string" ? JSON.stringify(keyPrefix) : "…"} }))`,
      );
    }
    this.client = o.client;
    this.prefix = o.prefix ?? "apikeys:";
    if (typeof this.prefix !== "string" || this.prefix.length > 100) invalidOption("prefix", "a string of at most 100 characters");
    this.channel = `${this.prefix}revoked`;
    this.listenersKey = `${this.prefix}listeners`;
    this.ackChannel = `${this.prefix}revoked:ack`;
    ({ confirmTimeoutMs: this.confirmTimeoutMs, onUnconfirmed: this.onUnconfirmed } = confirmOptions(o));
    this.subscriber = new RevocationSubscriber(this.client, this.channel, {
      listeners: this.listenersKey,
      ackChannel: this.ackChannel,
      notePresence: (member, sweep) => this.evaluate(NOTE_PRESENCE, [this.listenersKey], [member, sweep ? "1" : "0"]).then(() => undefined),
    });
  }

  /** When the server's eviction policy is next read (ms since the epoch); 0: not read yet. */
  private evictionCheckAt = 0;
  private evictionCheck: Promise<void> | undefined;

  /**
   * Refuse to work on a Redis that evicts keys of its own accord. Under `allkeys-lru` (or any
   * `allkeys-*` policy) a server short of memory drops the least used keys: the record a request
   * reads on every call stays, while the id and account entries only management reads go first,
   * so `revoke` answers 404 for a key that still authenticates. That fails open, so every call
   * fails (503) instead, with an error that says why. Read at the first call and once a minute
   * after, so a fixed server is taken up again without a restart.
   */
  private checkEviction(): Promise<void> | undefined {
    if (this.evictionCheckAt !== 0 && Date.now() < this.evictionCheckAt) return this.evictionCheck;
    this.evictionCheckAt = Date.now() + 60_000;
    this.evictionCheck = this.client.info("memory").then(
      (info) => {
        const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
        if (policy !== undefined && policy.startsWith("allkeys-")) {
          this.evictionCheckAt = Date.now() + 5_000; // a fix is noticed within seconds
          throw new ApiKeyError(
            "INVALID_OPTIONS",
            `RedisKeyStore: this Redis server evicts keys (maxmemory-policy ${policy}), which could drop a key's revocation entries while the key still works; set maxmemory-policy to noeviction (or a volatile-* policy: the store's keys never expire)`,
            { field: "client" },
          );
        }
        this.evictionCheck = undefined; // fine: calls until the next reading need not wait
      },
      (error: unknown) => {
        // INFO refused (renamed, or not allowed to this user): nothing to tell, go on. Anything
        // else (a connection failure) fails this call, and the next one asks again.
        if (/unknown command|NOPERM|no permissions/i.test(String((error as Error | undefined)?.message))) {
          this.evictionCheck = undefined;
          return;
        }
        this.evictionCheckAt = 0;
        throw error;
      },
    );
    // Every caller awaits it; a rejection no caller awaited (the last of a burst) must not be unhandled.
    this.evictionCheck.catch(() => {});
    return this.evictionCheck;
  }

  /** EVALSHA, loading the script on the first NOSCRIPT (a restarted or flushed server). */
  private async run(script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    await this.checkEviction();
    return this.evaluate(script, keys, args);
  }

  /** EVALSHA without the eviction check: for the presence bookkeeping of confirmed revocation. */
  private async evaluate(script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await this.client.evalsha(sha1(script), keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error | undefined)?.message).startsWith("NOSCRIPT")) throw error;
      return this.client.eval(script, keys.length, ...keys, ...args);
    }
  }

  private recordKey(hash: string): string {
    return `${this.prefix}h:${hash}`;
  }

  private idKey(id: string): string {
    return `${this.prefix}id:${id}`;
  }

  /**
   * Insert the record in one atomic step. A malformed record (an Invalid Date, unknown
   * permissions, a NUL in a string, …) is refused with `INVALID_INPUT` naming the field before
   * anything is sent; a stored id or hash with `DUPLICATE_KEY`.
   */
  async insert(given: ApiKeyRecord): Promise<void> {
    const record = storableRecord(given);
    const stored: StoredFields = {
      id: record.id,
      accountId: record.accountId,
      name: record.name,
      hash: record.hash,
      hint: record.hint,
      environment: record.environment,
      permissions: record.permissions,
      createdAt: record.createdAt.getTime(),
      createdBy: record.createdBy,
      expiresAt: record.expiresAt?.getTime() ?? null,
      rotatedFromId: record.rotatedFromId,
      metadata: record.metadata,
    };
    const inserted = await this.run(
      INSERT,
      [this.recordKey(record.hash), this.idKey(record.id), `${this.prefix}acct:${record.accountId}`],
      [
        record.hash,
        JSON.stringify(stored),
        record.lastUsedAt?.getTime() ?? "",
        record.revokedAt?.getTime() ?? "",
        record.revokedReason ?? "revoked",
        record.createdAt.getTime(),
        record.rotatedFromId ?? "",
        `${this.prefix}h:`,
      ],
    );
    // -1: the key this one replaces already has a live successor (a rotation that lost a race).
    if (inserted === -1) throw successorConflict();
    if (inserted !== 1) throw new ApiKeyError("DUPLICATE_KEY", "A key with this id or hash is already stored");
  }

  async getByHash(hash: string): Promise<ApiKeyRecord | null> {
    const check = this.checkEviction();
    if (check !== undefined) await check;
    // One round trip: HGETALL of a missing key is an empty object.
    return toRecord(await this.client.hgetall(this.recordKey(hash)));
  }

  async getById(id: string): Promise<ApiKeyRecord | null> {
    return toRecord((await this.run(GET_BY_ID, [this.idKey(id)], [`${this.prefix}h:`])) as string[] | null);
  }

  async listByAccount(accountId: string): Promise<ApiKeyRecord[]> {
    const replies = (await this.run(LIST_BY_ACCOUNT, [`${this.prefix}acct:${accountId}`], [`${this.prefix}h:`])) as string[][];
    const out: ApiKeyRecord[] = [];
    for (const reply of replies) {
      const record = toRecord(reply);
      if (record !== null) out.push(record);
    }
    // The sorted set orders equal times by hash; the contract's order is by creation, then id.
    return out.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Revoke the key, then (unless `confirmTimeoutMs` is `false`) wait until every process
   * listening for revocations has confirmed it dropped the key. With no process listening, no
   * wait and no extra connection. An `at` that is not a valid Date is refused (`INVALID_INPUT`)
   * before anything is sent.
   */
  async revoke(id: string, options: RevokeOptions = {}): Promise<ApiKeyRecord | null> {
    const at = revokeTime(options);
    const reason = revokeReason(options);
    const timeoutMs = this.confirmTimeoutMs;
    // Nobody listening now: nobody to wait for. A process that starts listening after this read
    // either hears the announcement or trusts its cache only from after the revocation (its
    // cache is bypassed until its presence is noted and its channel is live).
    if (timeoutMs === false || (await this.present()).length === 0) return (await this.revokeOnce(id, at, reason)).record;
    // Acknowledgements are heard from before the revocation is published, so none is missed.
    const waiter = new AcknowledgementWaiter();
    // Queued until it connects, whatever the caller's client says (`enableOfflineQueue: false`
    // refused the SUBSCRIBE of a connection still being made, and with it every revoke).
    const sub = this.client.duplicate({ enableOfflineQueue: true, autoResubscribe: false });
    sub.on("error", () => {});
    try {
      sub.on("message", (channel: string, message: string) => {
        if (channel === this.ackChannel) waiter.hear(parseAcknowledgement(message));
      });
      await sub.subscribe(this.ackChannel);
      const { record, changed } = await this.revokeOnce(id, at, reason);
      if (record === null || record.revokedAt === null) return record;
      // Nothing changed: revoked already, maybe by a revoke still waiting for the confirmations of
      // its announcement (two administrators, a double click). Answering now would let a server
      // that has not heard that announcement yet accept the key after this call resolved. So ask
      // every listener to confirm (it announces nothing: a subscriber gets messages in order, so a
      // confirmation means the announcement was heard) and wait.
      if (!changed) await this.client.publish(this.channel, confirmationRequest(record.hash));
      reportUnconfirmed(this.onUnconfirmed, id, await waiter.wait(record.hash, await this.present(), timeoutMs), timeoutMs);
      return record;
    } finally {
      sub.disconnect();
    }
  }

  /**
   * The processes listening for revocations now: a heartbeat in the last 15 s, on the Redis
   * server's clock (as the heartbeats are written), so no process's own clock decides it.
   */
  private async present(): Promise<Presence[]> {
    const members = (await this.evaluate(PRESENT, [this.listenersKey], [PRESENCE_TTL_MS])) as string[];
    return members.flatMap((m) => {
      try {
        const p = JSON.parse(m) as Partial<Presence> | null;
        return typeof p?.id === "string" && typeof p.name === "string" ? [{ id: p.id, name: p.name }] : [];
      } catch {
        return [];
      }
    });
  }

  private async revokeOnce(id: string, at: number, reason: string): Promise<{ record: ApiKeyRecord | null; changed: boolean }> {
    const reply = (await this.run(REVOKE, [this.idKey(id)], [at, reason, `${this.prefix}h:`, this.channel, id])) as
      | [number, string[]]
      | null;
    return reply === null ? { record: null, changed: false } : { record: toRecord(reply[1]), changed: reply[0] === 1 };
  }

  /** Entries whose `lastUsedAt` is not a valid Date are skipped, as unknown ids are. */
  async recordUsage(batch: readonly ApiKeyUsage[]): Promise<void> {
    const latest = latestUsage(batch);
    if (latest.size === 0) return;
    const ids = [...latest.keys()];
    await this.run(RECORD_USAGE, ids.map((id) => this.idKey(id)), [`${this.prefix}h:`, ...ids.map((id) => latest.get(id) as number)]);
  }

  /**
   * Hear about every revocation under this prefix, made by any server (Redis pub/sub on a
   * `duplicate()` connection, opened for the first listener and closed after the last).
   * `onStatus` hears `false` at once, `true` once subscribed, `false` if the connection drops.
   */
  subscribeRevocations(
    listener: (revocation: ApiKeyRevocation) => void,
    onStatus?: (connected: boolean) => void,
  ): () => void {
    return this.subscriber.subscribe(listener, onStatus);
  }
}

// console.log(store) shows toJSON(), never the client and its connection options.
inspectAsSettings(RedisKeyStore.prototype, "RedisKeyStore");

/**
 * A KeyStore on PostgreSQL: a `pg` Pool for a database server, or a PGlite instance
 * for an embedded one, with the same SQL. Revocation keeps the earliest time in one statement and
 * announces itself with NOTIFY; last used is written in one statement per batch that never moves
 * a time back.
 *
 * @module
 */
import { ApiKeyError, checkOptionNames, invalidOption, isApiKeyError } from "../../errors.js";
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
import { applyMigrations, SCHEMA_VERSION, type SchemaNames } from "./migrations.js";
import { COLUMNS, SELECTED, toRecord, type Row } from "./record-row.js";
import { quoteChannel, RevocationChannel } from "./revocation-channel.js";
import {
  clientKind,
  inTransaction,
  type ClientKind,
  type PGliteLike,
  type PgPoolLike,
  type PostgresClient,
  type SqlQueryable,
} from "./sql-client.js";

/**
 * Options of {@link PostgresKeyStore}.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { PostgresKeyStore, type PostgresKeyStoreOptions } from "@fluenzr/api-keys/postgres";
 * const options: PostgresKeyStoreOptions = {
 *   client: new pg.Pool({ connectionString: process.env.DATABASE_URL }),
 *   table: "service_keys", // NOTIFY channel "service_keys_revoked"
 *   confirmTimeoutMs: 5_000, // revoke() waits up to 5 s for every cache to drop the key
 * };
 * const store = new PostgresKeyStore(options);
 * ```
 */
export interface PostgresKeyStoreOptions {
  /** A `pg` Pool (`new Pool({ connectionString })`) or a PGlite instance (`new PGlite("./data")`). */
  client: PostgresClient;
  /** Table name. Default `"api_keys"`. Lower-case letters, digits and `_`, at most 40 characters. */
  table?: string | undefined;
  /** Schema (namespace) of the table. Default `"public"`. */
  schema?: string | undefined;
  /** NOTIFY channel for revocations. Default `"<table>_revoked"`; set it when two tables share a name. */
  channel?: string | undefined;
  /**
   * Confirmed revocation: `revoke()` resolves only once every process listening for revocations
   * (every authenticator with a cache, on any server) has dropped the key, or after this many ms,
   * telling `onUnconfirmed` which processes did not confirm (the key is revoked either way).
   * With no process listening, `revoke()` does not wait at all.
   * Default `2000`. `false` turns it off: `revoke()` then resolves as soon as the revocation
   * commits, and a server with a cache may accept the key until the announcement reaches it (a
   * few ms later).
   */
  confirmTimeoutMs?: number | false | undefined;
  /** Told when a confirmation timed out, with the silent processes (`host:pid`). Default: `console.warn`. */
  onUnconfirmed?: UnconfirmedRevocationHandler | undefined;
}

/**
 * What {@link PostgresKeyStore.migrate} did.
 *
 * @example
 * ```ts
 * import type { PostgresMigrationResult } from "@fluenzr/api-keys/postgres";
 * const result: PostgresMigrationResult = await store.migrate();
 * // a new database: { applied: [1, 2], version: 2 }; every start after: { applied: [], version: 2 }
 * ```
 */
export interface PostgresMigrationResult {
  /** Versions applied by this call (empty when the schema was already current). */
  readonly applied: readonly number[];
  /** The schema version now in place. */
  readonly version: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;
function storeError(message: string, cause: unknown): ApiKeyError {
  return new ApiKeyError("STORE_ERROR", message, { cause });
}

/**
 * A {@link KeyStore} on PostgreSQL: over a `pg` Pool, or over PGlite for an embedded database that
 * needs no server. Call {@link PostgresKeyStore.migrate} once at start-up (it is idempotent).
 * Revocations are announced with NOTIFY, and `revoke()` resolves once every authenticator with a
 * cache, on every server, has confirmed it dropped the key (see `confirmTimeoutMs`).
 *
 * Import from `@fluenzr/api-keys/postgres`. Needs the optional peer dependency `pg` or
 * `@electric-sql/pglite`.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { PostgresKeyStore } from "@fluenzr/api-keys/postgres";
 * import { createApiKeyAuth } from "@fluenzr/api-keys";
 *
 * const client = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * client.on("error", (error) => console.error(error.message)); // pg requires it for idle clients
 * const store = new PostgresKeyStore({ client });
 * await store.migrate();
 * const auth = createApiKeyAuth({ store, cache: { ttlMs: 60_000, max: 10_000 } });
 * ```
 */
export class PostgresKeyStore implements KeyStore {
  /** The client given (Pool or PGlite). */
  readonly client: PostgresClient;
  /** The NOTIFY channel revocations are announced on. */
  readonly channel: string;
  private readonly kind: ClientKind;
  private readonly names: SchemaNames;
  /** `schema.table`, as written in the options (for toJSON). */
  private readonly qualifiedTable: string;
  private readonly revocations: RevocationChannel;
  private readonly ackChannel: string;
  /**
   * How long `revoke()` waits for listening processes to confirm, or `false` (the option as
   * given, default 2000). `createKeyManager` adds it to its store time limit for revocations.
   */
  readonly confirmTimeoutMs: number | false;
  private readonly onUnconfirmed: UnconfirmedRevocationHandler;

  /**
   * The store's settings, without the client: what `JSON.stringify(store)` writes, and what
   * `console.log(store)` shows. The client's options hold the database address and password, so
   * a store that is logged never prints them.
   *
   * @example
   * ```ts
   * console.log(store); // PostgresKeyStore { table: 'public.api_keys', channel: 'api_keys_revoked', … }
   * JSON.stringify({ store }); // '{"store":{"table":"public.api_keys",…}}'
   * ```
   */
  toJSON(): { table: string; channel: string; confirmTimeoutMs: number | false } {
    return { table: this.qualifiedTable, channel: this.channel, confirmTimeoutMs: this.confirmTimeoutMs };
  }

  constructor(options: PostgresKeyStoreOptions) {
    if (options === null || typeof options !== "object") invalidOption("options", "expected { client }");
    // Each option read once (a getter that throws is INVALID_OPTIONS naming it).
    const o = checkOptionNames(options, ["client", "table", "schema", "channel", "confirmTimeoutMs", "onUnconfirmed"], "PostgresKeyStore") as unknown as PostgresKeyStoreOptions;
    this.kind = clientKind(o.client);
    this.client = o.client;
    const table = o.table ?? "api_keys";
    const schema = o.schema ?? "public";
    // Strings only: RegExp.test would turn ["api_keys"] into a name, and throw a raw TypeError on a Symbol.
    if (typeof table !== "string" || !IDENTIFIER.test(table)) invalidOption("table", "lower-case letters, digits and _, starting with a letter or _, at most 40 characters");
    if (typeof schema !== "string" || !IDENTIFIER.test(schema)) invalidOption("schema", "lower-case letters, digits and _, starting with a letter or _, at most 40 characters");
    this.qualifiedTable = `${schema}.${table}`;
    const channel = o.channel ?? `${table}_revoked`;
    // pg_notify() refuses channel names of 64 bytes or more, and "_ack" is added for acknowledgements.
    // No double quote: PGlite's listen() quotes the name itself, so one in it was never heard there.
    if (typeof channel !== "string" || !/^[\x21\x23-\x7e]{1,59}$/.test(channel)) invalidOption("channel", "1 to 59 printable ASCII characters other than a double quote");
    this.channel = channel;
    this.ackChannel = `${this.channel}_ack`;
    ({ confirmTimeoutMs: this.confirmTimeoutMs, onUnconfirmed: this.onUnconfirmed } = confirmOptions(o));
    this.names = {
      schema,
      tableName: table,
      table: `"${schema}"."${table}"`,
      migrations: `"${schema}"."${table}_migrations"`,
      listeners: `"${schema}"."${table}_listeners"`,
      hashIndex: `"${table}_hash_key"`,
      accountIndex: `"${table}_account_idx"`,
      lockKey: `${schema}.${table}`,
    };
    this.revocations = new RevocationChannel(this.client, this.kind, this.channel, {
      listeners: this.names.listeners,
      ackChannel: this.ackChannel,
    });
  }

  /**
   * Create or upgrade the table and its indexes. Idempotent and safe to run from several servers
   * at once (an advisory lock serialises them); versions are kept in `<table>_migrations`.
   */
  async migrate(): Promise<PostgresMigrationResult> {
    const applied = await inTransaction(this.client, this.kind, (q) => applyMigrations(q, this.names));
    return { applied, version: SCHEMA_VERSION };
  }

  /**
   * Insert the record. A malformed record (an Invalid Date, unknown permissions, a NUL in a
   * string, …) is refused with `INVALID_INPUT` naming the field before any query; a stored id or
   * hash with `DUPLICATE_KEY`.
   */
  async insert(given: ApiKeyRecord): Promise<void> {
    const record = storableRecord(given);
    const values = [
      record.id,
      record.accountId,
      record.name,
      record.hash,
      record.hint,
      record.environment,
      record.permissions,
      record.createdAt.toISOString(),
      record.createdBy,
      record.lastUsedAt?.toISOString() ?? null,
      record.revokedAt?.toISOString() ?? null,
      record.revokedReason,
      record.expiresAt?.toISOString() ?? null,
      record.rotatedFromId,
      record.metadata === null ? null : JSON.stringify(record.metadata),
    ];
    const insert = `INSERT INTO ${this.names.table} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`;
    try {
      if (record.rotatedFromId === null) {
        await this.client.query(insert, values);
        return;
      }
      // A successor: the check for a live one and the insert are one step, so two servers rotating
      // the same key at once get one successor. The transaction lock serialises the successors of
      // this key; the check is a statement of its own, so its snapshot sees a rival that committed
      // while this one waited. Live: not revoked, or only by a rotation (see liveSuccessor).
      const conflict = await inTransaction(this.client, this.kind, async (q) => {
        await q.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${this.names.lockKey}:successor:${record.rotatedFromId}`]);
        const { rows } = await q.query(
          `SELECT 1 FROM ${this.names.table} WHERE account_id = $1 AND rotated_from_id = $2
           AND (revoked_at IS NULL OR revoked_reason = 'rotated') LIMIT 1`,
          [record.accountId, record.rotatedFromId],
        );
        if (rows.length > 0) return true;
        await q.query(insert, values);
        return false;
      });
      if (conflict) throw successorConflict();
    } catch (error) {
      if (isApiKeyError(error)) throw error;
      // 23505: unique_violation, on the primary key (id) or the hash index.
      if ((error as { code?: unknown }).code === "23505") {
        throw new ApiKeyError("DUPLICATE_KEY", "A key with this id or hash is already stored", { cause: error });
      }
      throw storeError("Could not insert the key", error);
    }
  }

  async getByHash(hash: string): Promise<ApiKeyRecord | null> {
    const { rows } = await this.client.query(`SELECT ${SELECTED} FROM ${this.names.table} WHERE hash = $1`, [hash]);
    return rows.length === 0 ? null : toRecord(rows[0] as Row);
  }

  async getById(id: string): Promise<ApiKeyRecord | null> {
    const { rows } = await this.client.query(`SELECT ${SELECTED} FROM ${this.names.table} WHERE id = $1`, [id]);
    return rows.length === 0 ? null : toRecord(rows[0] as Row);
  }

  async listByAccount(accountId: string): Promise<ApiKeyRecord[]> {
    const { rows } = await this.client.query(
      // Equal times by id in code-unit order (COLLATE "C") whatever the database's collation, as
      // the Redis store orders them.
      `SELECT ${SELECTED} FROM ${this.names.table} WHERE account_id = $1 ORDER BY created_at, id COLLATE "C"`,
      [accountId],
    );
    return (rows as Row[]).map(toRecord);
  }

  /**
   * Revoke the key, then (unless `confirmTimeoutMs` is `false`) wait until every process
   * listening for revocations has confirmed it dropped the key. With no process listening, no
   * wait and no extra connection. An `at` that is not a valid Date is refused (`INVALID_INPUT`)
   * before any query.
   */
  async revoke(id: string, options: RevokeOptions = {}): Promise<ApiKeyRecord | null> {
    const at = new Date(revokeTime(options)).toISOString();
    const reason = revokeReason(options);
    const timeoutMs = this.confirmTimeoutMs;
    // Nobody listening now: nobody to wait for. A process that starts listening after this read
    // either hears the NOTIFY or trusts its cache only from after the revocation (its cache is
    // bypassed until its presence is written and its LISTEN is live).
    if (timeoutMs !== false && (await this.present(this.client)).length > 0) return this.revokeConfirmed(id, at, reason, timeoutMs);
    const changed = await this.revokeOn(this.client, id, at, reason);
    // Unknown, or already revoked at an earlier time: answer with what is stored.
    return changed ?? this.getById(id);
  }

  /** The processes listening for revocations now (seen in the last 15 s); none without the presence table. */
  private async present(q: SqlQueryable): Promise<Presence[]> {
    try {
      const { rows } = await q.query(
        `SELECT id, name FROM ${this.names.listeners} WHERE seen_at > now() - make_interval(secs => $1)`,
        [PRESENCE_TTL_MS / 1000],
      );
      return rows as Presence[];
    } catch (error) {
      // 42P01 undefined_table: a schema older than version 2, where no process can note its presence.
      if ((error as { code?: unknown }).code === "42P01") return [];
      throw error;
    }
  }

  /** The revoking statement on `q`: the record if it changed, else `null`. */
  private async revokeOn(q: SqlQueryable, id: string, at: string, reason: string): Promise<ApiKeyRecord | null> {
    // One statement: only an earlier time wins (row lock under concurrent revokes), and the
    // NOTIFY is part of the same transaction, sent to listeners when it commits. A rotation's
    // grace never replaces a revocation for another reason (see replacesRevocation).
    const { rows } = await q.query(
      `UPDATE ${this.names.table} SET revoked_at = $2, revoked_reason = $3
       WHERE id = $1 AND (revoked_at IS NULL OR (revoked_at > $2::timestamptz
         AND NOT ($3 = 'rotated' AND revoked_reason IS DISTINCT FROM 'rotated')))
       RETURNING ${SELECTED}, pg_notify($4, json_build_object('id', id, 'hash', hash)::text)::text AS notified`,
      [id, at, reason, this.channel],
    );
    return rows.length > 0 ? toRecord(rows[0] as Row) : null;
  }

  /** Revoke, then wait for every present listener's acknowledgement (heard from before the commit). */
  private async revokeConfirmed(id: string, at: string, reason: string, timeoutMs: number): Promise<ApiKeyRecord | null> {
    const waiter = new AcknowledgementWaiter();
    const confirm = async (q: SqlQueryable): Promise<ApiKeyRecord | null> => {
      let record = await this.revokeOn(q, id, at, reason);
      if (record === null) {
        // Nothing changed: unknown, or revoked already, maybe by a revoke still waiting for the
        // confirmations of its announcement (two administrators, a double click). Answering now
        // would let a server that has not heard that announcement yet accept the key after this
        // call resolved. So ask every listener to confirm (it announces nothing: notifications
        // arrive in commit order, so a confirmation means the announcement was heard) and wait.
        // Read on this connection: a pool of one has no other to give while this one is held.
        const { rows } = await q.query(`SELECT ${SELECTED} FROM ${this.names.table} WHERE id = $1`, [id]);
        record = rows.length === 0 ? null : toRecord(rows[0] as Row);
        if (record === null || record.revokedAt === null) return record;
        await q.query("SELECT pg_notify($1, $2)", [this.channel, confirmationRequest(record.hash)]);
      }
      reportUnconfirmed(this.onUnconfirmed, id, await waiter.wait(record.hash, await this.present(q), timeoutMs), timeoutMs);
      return record;
    };
    if (this.kind === "pglite") {
      const db = this.client as PGliteLike;
      const unlisten = await db.listen(quoteChannel(this.ackChannel), (payload) => waiter.hear(parseAcknowledgement(payload)));
      try {
        return await confirm(db);
      } finally {
        await unlisten().catch(() => {});
      }
    }
    // The acknowledgements are heard on the connection that revokes, LISTENing before it commits.
    const conn = await (this.client as PgPoolLike).connect();
    const onNotification = (message: { channel: string; payload?: string | undefined }): void => {
      if (message.channel === this.ackChannel) waiter.hear(parseAcknowledgement(message.payload));
    };
    let broken: Error | undefined;
    try {
      conn.on("notification", onNotification);
      await conn.query(`LISTEN ${quoteChannel(this.ackChannel)}`);
      return await confirm(conn);
    } finally {
      try {
        await conn.query("UNLISTEN *");
      } catch (error) {
        broken = error as Error;
      }
      conn.removeListener("notification", onNotification);
      conn.release(broken);
    }
  }

  /** Entries whose `lastUsedAt` is not a valid Date are skipped, as unknown ids are. */
  async recordUsage(batch: readonly ApiKeyUsage[]): Promise<void> {
    // One row per id (the latest time): UPDATE ... FROM would pick an arbitrary one of several.
    const latest = latestUsage(batch);
    if (latest.size === 0) return;
    const ids = [...latest.keys()];
    const times = ids.map((id) => new Date(latest.get(id) as number).toISOString());
    await this.client.query(
      `UPDATE ${this.names.table} AS k SET last_used_at = u.at
       FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at)
       WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`,
      [ids, times],
    );
  }

  /**
   * Hear about every revocation on this table, made by any server (LISTEN/NOTIFY). With a Pool
   * this holds one connection for as long as anyone listens; it reconnects by itself. `onStatus`
   * hears `false` at once and `true` when LISTEN is live, `false` again if the connection drops.
   */
  subscribeRevocations(
    listener: (revocation: ApiKeyRevocation) => void,
    onStatus?: (connected: boolean) => void,
  ): () => void {
    return this.revocations.subscribe(listener, onStatus);
  }
}

// console.log(store) shows toJSON(), never the client and its connection options.
inspectAsSettings(PostgresKeyStore.prototype, "PostgresKeyStore");

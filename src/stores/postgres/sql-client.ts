/**
 * The two PostgreSQL clients the store accepts, seen through one small interface: a `pg` Pool
 * (a network server, many connections) or a PGlite instance (PostgreSQL in WebAssembly, one
 * in-process connection). Both speak the same SQL; they differ in how a transaction is held and
 * how LISTEN is done, so only those two things are adapted here.
 *
 * @module
 */
import { invalidOption } from "../../errors.js";

/**
 * Rows as both clients return them (pg: `rows`, `rowCount`; PGlite: `rows`, `affectedRows`).
 *
 * @example
 * ```ts
 * import type { SqlResult } from "@fluenzr/api-keys/postgres";
 * const result: SqlResult = await store.client.query("SELECT 1 AS one");
 * result.rows; // [{ one: 1 }]
 * ```
 */
export interface SqlResult {
  rows: unknown[];
}

/**
 * Anything with pg's `query(text, values)`.
 *
 * @example
 * ```ts
 * import type { SqlQueryable } from "@fluenzr/api-keys/postgres";
 * // A pg Pool or PoolClient, a PGlite instance or a PGlite transaction: any of them fits.
 * async function keyCount(db: SqlQueryable, accountId: string): Promise<number> {
 *   const { rows } = await db.query("SELECT count(*)::int AS n FROM api_keys WHERE account_id = $1", [accountId]);
 *   return (rows[0] as { n: number }).n;
 * }
 * ```
 */
export interface SqlQueryable {
  query(text: string, values?: unknown[]): Promise<SqlResult>;
}

/**
 * The parts of a `pg` PoolClient the store uses.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import type { PgPoolClientLike } from "@fluenzr/api-keys/postgres";
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const conn: PgPoolClientLike = await pool.connect(); // a pg PoolClient is one
 * try { await conn.query("SELECT 1"); } finally { conn.release(); }
 * ```
 */
export interface PgPoolClientLike extends SqlQueryable {
  release(error?: Error | boolean): void;
  on(event: "notification", listener: (message: { channel: string; payload?: string | undefined }) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  removeListener(event: "notification", listener: (message: { channel: string; payload?: string | undefined }) => void): unknown;
  removeListener(event: "error", listener: (error: Error) => void): unknown;
  removeListener(event: "end", listener: () => void): unknown;
}

/**
 * The parts of a `pg` Pool the store uses.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import type { PgPoolLike } from "@fluenzr/api-keys/postgres";
 * const pool: PgPoolLike = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * pool.totalCount; // 0: connections open on first use
 * ```
 */
export interface PgPoolLike extends SqlQueryable {
  connect(): Promise<PgPoolClientLike>;
  readonly totalCount: number;
}

/**
 * The parts of a PGlite instance the store uses.
 *
 * @example
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import type { PGliteLike } from "@fluenzr/api-keys/postgres";
 * const db: PGliteLike = await PGlite.create("./.data/api-keys");
 * const { rows } = await db.query("SELECT 1 AS one"); // rows: [{ one: 1 }]
 * ```
 */
export interface PGliteLike extends SqlQueryable {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
  transaction<T>(callback: (tx: SqlQueryable) => Promise<T>): Promise<T>;
}

/**
 * A `pg` Pool or a PGlite instance.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { PGlite } from "@electric-sql/pglite";
 * import { PostgresKeyStore, type PostgresClient } from "@fluenzr/api-keys/postgres";
 * const url = process.env.DATABASE_URL; // a server in production, embedded otherwise
 * const client: PostgresClient = url ? new pg.Pool({ connectionString: url }) : await PGlite.create();
 * const store = new PostgresKeyStore({ client });
 * ```
 */
export type PostgresClient = PgPoolLike | PGliteLike;

/** @internal */
export type ClientKind = "pool" | "pglite";

/** Tell a Pool from a PGlite instance by shape, so neither package has to be loaded. @internal */
export function clientKind(client: unknown): ClientKind {
  let kind: ClientKind | "none" | "client";
  try {
    kind = kindOf(client);
  } catch (cause) {
    // A Proxy (or a getter) that throws while we look at it: not a client we can use.
    invalidOption("client", "expected a pg Pool or a PGlite instance (reading it threw)", cause);
  }
  if (kind === "none") invalidOption("client", "expected a pg Pool or a PGlite instance");
  if (kind === "client") invalidOption("client", "expected a pg Pool (not a single pg.Client) or a PGlite instance");
  return kind;
}

function kindOf(client: unknown): ClientKind | "none" | "client" {
  const c = client as Record<string, unknown> | null;
  if (c === null || typeof c !== "object" || typeof c.query !== "function") return "none";
  if (typeof c.listen === "function" && typeof c.transaction === "function") return "pglite";
  // A pg.Client also has connect(); only a Pool counts its clients.
  if (typeof c.connect === "function" && typeof c.totalCount === "number") return "pool";
  return "client";
}

/** Run `fn` inside one transaction on one connection. @internal */
export async function inTransaction<T>(
  client: PostgresClient,
  kind: ClientKind,
  fn: (q: SqlQueryable) => Promise<T>,
): Promise<T> {
  if (kind === "pglite") return (client as PGliteLike).transaction((tx) => fn(tx));
  const conn = await (client as PgPoolLike).connect();
  let broken: Error | undefined;
  try {
    await conn.query("BEGIN");
    const out = await fn(conn);
    await conn.query("COMMIT");
    return out;
  } catch (error) {
    try {
      await conn.query("ROLLBACK");
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    conn.release(broken);
  }
}

/**
 * The schema, as numbered migrations. `migrate()` applies the missing ones in one transaction
 * under an advisory lock, so several servers starting at once migrate exactly once.
 *
 * @module
 */
import { ApiKeyError } from "../../errors.js";
import type { SqlQueryable } from "./sql-client.js";

/** Names the SQL needs, already quoted. @internal */
export interface SchemaNames {
  /** The schema's bare name (checked: lower-case letters, digits, `_`). */
  readonly schema: string;
  /** The table's bare name (checked the same way). */
  readonly tableName: string;
  /** `"schema"."table"` */
  readonly table: string;
  /** `"schema"."table_migrations"` */
  readonly migrations: string;
  /** `"schema"."table_listeners"`: processes listening for revocations (presence). */
  readonly listeners: string;
  /** Bare names for indexes (unqualified, quoted). */
  readonly hashIndex: string;
  readonly accountIndex: string;
  /** The lock key: the qualified table name as text. */
  readonly lockKey: string;
}

/** One step of the schema. Never edit a shipped one: add the next. @internal */
interface Migration {
  readonly version: number;
  readonly sql: (n: SchemaNames) => string[];
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: (n) => [
      `CREATE TABLE IF NOT EXISTS ${n.table} (
        id text PRIMARY KEY,
        account_id text NOT NULL,
        name text NOT NULL,
        hash text NOT NULL,
        hint text NOT NULL,
        environment text,
        permissions text NOT NULL,
        created_at timestamptz NOT NULL,
        created_by text,
        last_used_at timestamptz,
        revoked_at timestamptz,
        revoked_reason text,
        expires_at timestamptz,
        rotated_from_id text,
        metadata jsonb
      )`,
      // The request path's one lookup is an equality on the hash; unique also refuses duplicates.
      `CREATE UNIQUE INDEX IF NOT EXISTS ${n.hashIndex} ON ${n.table} (hash)`,
      `CREATE INDEX IF NOT EXISTS ${n.accountIndex} ON ${n.table} (account_id, created_at)`,
    ],
  },
  {
    version: 2,
    // Presence of listening processes, for revocations confirmed by every one of them.
    sql: (n) => [
      `CREATE TABLE IF NOT EXISTS ${n.listeners} (id text PRIMARY KEY, name text NOT NULL, seen_at timestamptz NOT NULL)`,
    ],
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** The columns of the keys table, as the first migration creates them. */
const KEY_COLUMNS = [
  "id", "account_id", "name", "hash", "hint", "environment", "permissions", "created_at", "created_by",
  "last_used_at", "revoked_at", "revoked_reason", "expires_at", "rotated_from_id", "metadata",
];

const migrationError = (message: string): ApiKeyError => new ApiKeyError("STORE_ERROR", `migrate(): ${message}`);

/** Apply missing migrations inside the caller's transaction. Returns the versions applied. @internal */
export async function applyMigrations(q: SqlQueryable, n: SchemaNames): Promise<number[]> {
  // Serialise concurrent migrators (several servers booting at once) for this table only.
  await q.query("SELECT pg_advisory_xact_lock(hashtext($1))", [n.lockKey]);
  // A schema other than public may not exist yet (a new database, PGlite): create it.
  const schemas = await q.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [n.schema]);
  if (schemas.rows.length === 0) await q.query(`CREATE SCHEMA IF NOT EXISTS "${n.schema}"`);
  await q.query(
    `CREATE TABLE IF NOT EXISTS ${n.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const { rows } = await q.query(`SELECT coalesce(max(version), 0) AS version FROM ${n.migrations}`);
  const current = Number((rows[0] as { version: number | string } | undefined)?.version ?? 0);
  if (current > SCHEMA_VERSION) {
    throw migrationError(`${n.lockKey} is at schema version ${current}, newer than this package's ${SCHEMA_VERSION}: upgrade @fluenzr/api-keys`);
  }
  if (current === 0) {
    // A table of this name that an earlier run did not make (another tool's, one of your own):
    // never taken over, nor given our indexes.
    const { rows: columns } = await q.query(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
      [n.schema, n.tableName],
    );
    const present = new Set((columns as { column_name: string }[]).map((c) => c.column_name));
    const missing = KEY_COLUMNS.filter((c) => !present.has(c));
    if (present.size > 0 && missing.length > 0) {
      throw migrationError(`${n.lockKey} exists and is not a key table of this package (no ${missing.join(", ")}); choose another table name`);
    }
  }
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    for (const statement of m.sql(n)) await q.query(statement);
    await q.query(`INSERT INTO ${n.migrations} (version) VALUES ($1)`, [m.version]);
    applied.push(m.version);
  }
  // The hash's unique index is created "if not exists" by name, and a name taken by another
  // object of the schema (the index of a renamed table keeps its name) skips it silently: then
  // duplicate hashes would be stored and every lookup would scan the table. Checked every time.
  const { rows: unique } = await q.query(
    `SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indnatts = 1 AND a.attname = 'hash'`,
    [n.table],
  );
  if (unique.length === 0) {
    throw migrationError(
      `${n.lockKey} has no unique index on hash: the name ${n.hashIndex} is taken by another index of the schema (a renamed table keeps its index names); rename or drop that index and run migrate() again`,
    );
  }
  return applied;
}

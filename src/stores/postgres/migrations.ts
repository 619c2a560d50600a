/**
 * The schema, as numbered migrations. `migrate()` applies the missing ones in one transaction
 * under an advisory lock, so several servers starting at once migrate exactly once.
 *
 * @module
 */
import type { SqlQueryable } from "./sql-client.js";

/** Names the SQL needs, already quoted. @internal */
export interface SchemaNames {
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

/** Apply missing migrations inside the caller's transaction. Returns the versions applied. @internal */
export async function applyMigrations(q: SqlQueryable, n: SchemaNames): Promise<number[]> {
  // Serialise concurrent migrators (several servers booting at once) for this table only.
  await q.query("SELECT pg_advisory_xact_lock(hashtext($1))", [n.lockKey]);
  await q.query(
    `CREATE TABLE IF NOT EXISTS ${n.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const { rows } = await q.query(`SELECT coalesce(max(version), 0) AS version FROM ${n.migrations}`);
  const current = Number((rows[0] as { version: number | string } | undefined)?.version ?? 0);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    for (const statement of m.sql(n)) await q.query(statement);
    await q.query(`INSERT INTO ${n.migrations} (version) VALUES ($1)`, [m.version]);
    applied.push(m.version);
  }
  return applied;
}

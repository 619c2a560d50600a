/**
 * The embedded default: a PostgresKeyStore on PGlite in a data folder, migrated and ready.
 *
 * @module
 */
import { checkOptionNames, invalidOption } from "../../errors.js";
import { PostgresKeyStore } from "./postgres-key-store.js";
import type { PGliteLike } from "./sql-client.js";

/**
 * Options of {@link openPGliteKeyStore}.
 *
 * @example
 * ```ts
 * import { openPGliteKeyStore, type OpenPGliteKeyStoreOptions } from "@fluenzr/api-keys/postgres";
 * const options: OpenPGliteKeyStoreOptions = process.env.NODE_ENV === "test"
 *   ? {} // in memory, gone at exit
 *   : { dataDir: "./.data/api-keys" }; // created if missing, kept across restarts
 * const { store, close } = await openPGliteKeyStore(options);
 * ```
 */
export interface OpenPGliteKeyStoreOptions {
  /** Folder that holds the database (created if missing). Omitted: in memory, gone at exit. */
  dataDir?: string | undefined;
  /** Table name. Default `"api_keys"`. */
  table?: string | undefined;
  /** Schema of the table. Default `"public"`. */
  schema?: string | undefined;
}

/**
 * An opened embedded store.
 *
 * @example
 * ```ts
 * import { openPGliteKeyStore, type OpenedPGliteKeyStore } from "@fluenzr/api-keys/postgres";
 * import { createApiKeyAuth } from "@fluenzr/api-keys";
 * const opened: OpenedPGliteKeyStore = await openPGliteKeyStore({ dataDir: "./.data/api-keys" });
 * await opened.db.query("CREATE TABLE IF NOT EXISTS notes (body text)"); // your own tables, same database
 * const auth = createApiKeyAuth({ store: opened.store });
 * process.on("SIGTERM", () => void auth.close().then(opened.close));
 * ```
 */
export interface OpenedPGliteKeyStore {
  /** The store, migrated. */
  readonly store: PostgresKeyStore;
  /** The PGlite instance, for your own tables and queries. */
  readonly db: PGliteLike & { close(): Promise<void> };
  /** Close the database (flushes it to the data folder). */
  close(): Promise<void>;
}

/**
 * Open (or create) an embedded PostgreSQL database with PGlite, and a migrated
 * {@link PostgresKeyStore} on it. Keys survive a restart when `dataDir` is given. One process
 * at a time may open a data folder: for several servers, use PostgreSQL (a `pg` Pool) instead.
 * Needs the optional peer dependency `@electric-sql/pglite`.
 *
 * @example
 * ```ts
 * import { openPGliteKeyStore } from "@fluenzr/api-keys/postgres";
 * import { createApiKeyAuth } from "@fluenzr/api-keys";
 *
 * const { store, close } = await openPGliteKeyStore({ dataDir: "./.data/api-keys" });
 * const auth = createApiKeyAuth({ store });
 * process.on("SIGTERM", () => void auth.close().then(close));
 * ```
 */
export async function openPGliteKeyStore(options: OpenPGliteKeyStoreOptions = {}): Promise<OpenedPGliteKeyStore> {
  // Checked before anything opens: a misspelt dataDir would silently give a database in memory.
  if (options === null || typeof options !== "object") invalidOption("options", "expected { dataDir?, table?, schema? }");
  const o = checkOptionNames(options, ["dataDir", "table", "schema"], "openPGliteKeyStore") as OpenPGliteKeyStoreOptions;
  const dataDir = o.dataDir;
  if (dataDir !== undefined && (typeof dataDir !== "string" || dataDir.length === 0)) {
    invalidOption("dataDir", "a non-empty folder path, or leave it out for a database in memory");
  }
  // Loaded here, on call: importing this subpath loads no database package.
  const { PGlite } = await import("@electric-sql/pglite");
  if (dataDir !== undefined && !dataDir.includes("://")) {
    // PGlite makes only the last folder of the path: create the ones above it (a plain path means Node).
    const { mkdir } = await import("node:fs/promises");
    await mkdir(dataDir, { recursive: true });
  }
  const db = await PGlite.create(dataDir);
  try {
    const store = new PostgresKeyStore({ client: db, table: o.table, schema: o.schema });
    await store.migrate();
    return { store, db, close: () => db.close() };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}

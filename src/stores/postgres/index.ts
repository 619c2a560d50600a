/**
 * `@fluenzr/api-keys/postgres`: the KeyStore on PostgreSQL, over a `pg` Pool or PGlite.
 *
 * @module
 */
export { PostgresKeyStore, type PostgresKeyStoreOptions, type PostgresMigrationResult } from "./postgres-key-store.js";
export { openPGliteKeyStore, type OpenedPGliteKeyStore, type OpenPGliteKeyStoreOptions } from "./open-pglite-key-store.js";
export type { UnconfirmedRevocation, UnconfirmedRevocationHandler } from "../acknowledgements.js";
export type { PGliteLike, PgPoolClientLike, PgPoolLike, PostgresClient, SqlQueryable, SqlResult } from "./sql-client.js";

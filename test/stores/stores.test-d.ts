import type { PGlite } from "@electric-sql/pglite";
import type { Redis } from "ioredis";
import type pg from "pg";
import { describe, expectTypeOf, it } from "vitest";
import { createApiKeyAuth, type ApiKeyAuthOptions, type KeyStore } from "../../src/index.js";
import {
  openPGliteKeyStore,
  PostgresKeyStore,
  type PostgresKeyStoreOptions,
  type PostgresMigrationResult,
} from "../../src/stores/postgres/index.js";
import { RedisKeyStore, type RedisKeyStoreOptions } from "../../src/stores/redis/index.js";

describe("store subpath types (DESIGN §10: new PostgresKeyStore({ client }), new RedisKeyStore({ client }))", () => {
  it("PostgresKeyStore takes a pg Pool or a PGlite instance, and is a KeyStore", () => {
    const pool = {} as pg.Pool;
    const lite = {} as PGlite;
    expectTypeOf(new PostgresKeyStore({ client: pool })).toMatchTypeOf<KeyStore>();
    expectTypeOf(new PostgresKeyStore({ client: lite, table: "keys", schema: "auth" })).toMatchTypeOf<KeyStore>();
    expectTypeOf(new PostgresKeyStore({ client: pool }).migrate()).toEqualTypeOf<Promise<PostgresMigrationResult>>();
    // A single pg.Client is refused by type as it is at run time.
    // @ts-expect-error a pg.Client is not a Pool
    new PostgresKeyStore({ client: {} as pg.Client });
    expectTypeOf(openPGliteKeyStore).parameter(0).toEqualTypeOf<
      { dataDir?: string | undefined; table?: string | undefined; schema?: string | undefined } | undefined
    >();
  });

  it("RedisKeyStore takes an ioredis client, and is a KeyStore", () => {
    expectTypeOf(new RedisKeyStore({ client: {} as Redis, prefix: "{apikeys}:" })).toMatchTypeOf<KeyStore>();
  });

  it("confirmTimeoutMs: ms, or false to turn confirmed revocation off (default 2000)", () => {
    expectTypeOf<PostgresKeyStoreOptions["confirmTimeoutMs"]>().toEqualTypeOf<number | false | undefined>();
    expectTypeOf<RedisKeyStoreOptions["confirmTimeoutMs"]>().toEqualTypeOf<number | false | undefined>();
    new PostgresKeyStore({ client: {} as pg.Pool, confirmTimeoutMs: false });
    new RedisKeyStore({ client: {} as Redis, confirmTimeoutMs: 5_000 });
    // @ts-expect-error true is not a timeout
    new RedisKeyStore({ client: {} as Redis, confirmTimeoutMs: true });
  });

  it("the cache option of createApiKeyAuth", () => {
    expectTypeOf<NonNullable<ApiKeyAuthOptions["cache"]>>().toEqualTypeOf<{
      ttlMs: number;
      max: number;
      maxStalenessMs?: number | undefined;
      negativeTtlMs?: number | undefined;
    }>();
    const store = {} as KeyStore;
    createApiKeyAuth({ store, cache: { ttlMs: 1_000, max: 10 } });
    // @ts-expect-error max is required
    createApiKeyAuth({ store, cache: { ttlMs: 1_000 } });
  });
});

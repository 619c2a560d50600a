// A store that is logged (console.log, util.inspect, JSON.stringify: what loggers do with an
// object) shows its settings, never its client's connection options: the database password.
// No server is needed: neither client connects before its first command.
import { inspect } from "node:util";
import pg from "pg";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { PostgresKeyStore } from "../../src/stores/postgres/index.js";
import { RedisKeyStore } from "../../src/stores/redis/index.js";

const PASSWORD = "s3cret-Pa55word";

/** However deep it is inspected, the store shows its name and a setting, never the host or password. */
function expectSettingsOnly(store: object, name: string, host: string, setting: string): void {
  for (const depth of [0, 2, 5, Infinity]) {
    const shown = inspect(store, { depth, showHidden: true });
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain(host);
    expect(shown).toContain(name);
    expect(shown).toContain(setting);
  }
}

describe("a logged store shows its settings, not its client", () => {
  it("PostgresKeyStore over a pg Pool whose connection string holds a password", async () => {
    const client = new pg.Pool({ connectionString: `postgres://app:${PASSWORD}@db.internal:5432/prod` });
    const store = new PostgresKeyStore({ client, schema: "auth", table: "keys" });
    expectSettingsOnly(store, "PostgresKeyStore", "db.internal", "auth.keys");
    expect(JSON.parse(JSON.stringify({ store }))).toEqual({ store: { table: "auth.keys", channel: "keys_revoked", confirmTimeoutMs: 2000 } });
    expect(store.client).toBe(client); // still there for the caller's own use
    await client.end();
  });

  it("RedisKeyStore over an ioredis client created with a password", () => {
    const client = new Redis({ host: "cache.internal", password: PASSWORD, lazyConnect: true });
    const store = new RedisKeyStore({ client, prefix: "svc:", confirmTimeoutMs: false });
    expectSettingsOnly(store, "RedisKeyStore", "cache.internal", "svc:");
    expect(JSON.parse(JSON.stringify(store))).toEqual({ prefix: "svc:", channel: "svc:revoked", confirmTimeoutMs: false });
    client.disconnect();
  });

  it("the client itself, logged directly, does show the password (what the store keeps out of sight)", () => {
    const client = new Redis({ host: "cache.internal", password: PASSWORD, lazyConnect: true });
    expect(inspect(client, { depth: 3 })).toContain(PASSWORD);
    client.disconnect();
  });
});

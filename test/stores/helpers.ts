import { Redis, type RedisOptions } from "ioredis";
import { afterAll, beforeAll } from "vitest";

// Shared by the store tests: unique names per run, so parallel test files never share a table or prefix.
export function uniqueName(base: string): string {
  return `${base}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Resolve when `condition()` holds, or reject after `ms`. */
export async function waitFor(condition: () => boolean, ms = 3_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const DATABASE_URL = process.env.DATABASE_URL;
export const REDIS_URL = process.env.REDIS_URL;

/**
 * For a describe block against the real Redis: a client opened before its tests and a key prefix
 * of its own, whose keys are deleted (and the client closed) after them. Read `client` inside tests.
 */
export function redisWithPrefix(base: string, options: RedisOptions = {}): { readonly prefix: string; readonly client: Redis } {
  const prefix = `${uniqueName(base)}:`;
  let client: Redis | undefined;
  beforeAll(() => {
    client = new Redis(REDIS_URL as string, options);
  });
  afterAll(async () => {
    if (client === undefined) return;
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });
  return {
    prefix,
    get client(): Redis {
      if (client === undefined) throw new Error("the Redis client is opened in beforeAll");
      return client;
    },
  };
}

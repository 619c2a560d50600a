// A small world for request-path tests: a store with keys in every state, and the accounts.
import {
  createApiKeyAuth,
  createKeyManager,
  generateApiKey,
  hashApiKey,
  MemoryKeyStore,
  type ApiKeyAuthEvent,
  type ApiKeyAuthOptions,
} from "../../src/index.js";
import { createFakeClock, makeTestRecord } from "../../src/testing/index.js";

export const PLANS: Record<string, string | null> = { acc_pro: "pro", acc_starter: "starter", acc_free: "free" };

export async function makeWorld(options: Partial<ApiKeyAuthOptions> = {}) {
  const clock = createFakeClock(Date.UTC(2025, 0, 10));
  const store = new MemoryKeyStore();
  const accounts = { getPlan: (id: string) => PLANS[id] ?? null };
  const manager = createKeyManager({ store, accounts, clock });
  const actor = { id: "usr_admin", admin: true };
  const make = (input: Partial<Parameters<typeof manager.create>[0]> = {}) =>
    manager.create({ accountId: "acc_pro", actor, name: "Key", ...input });

  const prod = await make({ name: "Production", environment: "prod" });
  const stag = await make({ name: "Staging", environment: "stag" });
  const dev = await make({ name: "Dev", environment: "dev", permissions: "read-only" });
  const untagged = await make({ name: "Untagged" });
  const revoked = await make({ name: "Revoked", environment: "prod" });
  await manager.revoke({ accountId: "acc_pro", actor, id: revoked.record.id });
  const expiring = await make({ name: "Expiring", environment: "prod", expiresAt: new Date(clock.now() + 60_000) });
  // Keys of accounts without API access cannot be created through the manager; insert them directly.
  const insertFor = async (accountId: string) => {
    const { key, hint, environment } = generateApiKey({ environment: "prod" });
    await store.insert(makeTestRecord({ accountId, hash: hashApiKey(key), hint, environment }));
    return key;
  };
  const starterKey = await insertFor("acc_starter");
  const orphanKey = await insertFor("acc_deleted");
  const unknownKey = generateApiKey({ environment: "prod" }).key;

  const events: ApiKeyAuthEvent[] = [];
  const auth = createApiKeyAuth({ store, accounts, clock, onEvent: (e) => events.push(e), ...options });
  return {
    clock, store, accounts, manager, actor, auth, events,
    keys: {
      prod: prod.key, stag: stag.key, dev: dev.key, untagged: untagged.key, revoked: revoked.key,
      expiring: expiring.key, starter: starterKey, orphan: orphanKey, unknown: unknownKey,
    },
    records: { prod: prod.record, dev: dev.record, revoked: revoked.record, expiring: expiring.record },
  };
}

export const UNAUTHORIZED = { success: false, error: { code: "UNAUTHORIZED", message: "Invalid or missing API key" } };

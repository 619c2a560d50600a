/**
 * One key store and authenticator shared by every adapter test: a Pro account with full and
 * read-only keys, a Starter account, and keys that are revoked, expired, of another environment,
 * or unknown. The authenticator only accepts `prod` keys, as a production server would.
 */
import {
  createApiKeyAuth,
  createKeyManager,
  generateApiKey,
  MemoryKeyStore,
  type ApiKeyAuth,
  type ApiKeyRecord,
  type KeyStore,
} from "../../../src/index.js";

export interface FixtureKeys {
  pro: string;
  readOnly: string;
  starter: string;
  revoked: string;
  expired: string;
  otherEnvironment: string;
  unknown: string;
}

export interface Fixture {
  keys: FixtureKeys;
  /** Key id per fixture key that is stored. */
  ids: Record<keyof FixtureKeys, string | null>;
  /** The authenticator the adapters under test use. */
  auth: ApiKeyAuth;
  /** An authenticator whose store always fails (DESIGN §5: 503). */
  downAuth: ApiKeyAuth;
  /** The store holding the fixture's keys, for tests that build an authenticator of their own. */
  store: KeyStore;
}

const HOUR = 3600_000;

/** A store whose every read fails, as a database outage would. */
export function failingStore(): KeyStore {
  const fail = (): Promise<never> => Promise.reject(new Error("connection refused"));
  return {
    insert: fail,
    getByHash: fail,
    getById: fail,
    listByAccount: fail,
    revoke: fail,
    recordUsage: fail,
  };
}

export async function createFixture(): Promise<Fixture> {
  const store = new MemoryKeyStore();
  const plans = new Map([
    ["acc_pro", "pro"],
    ["acc_starter", "starter"],
  ]);
  const accounts = { getPlan: (id: string): string | null => plans.get(id) ?? null };
  // The manager checks no plan here so the Starter account can hold a key (it was Pro once).
  const manager = createKeyManager({ store });
  const actor = { id: "usr_admin", admin: true };
  const make = async (
    accountId: string,
    extra: { environment?: string; permissions?: "all" | "read-only"; expiresAt?: Date } = {},
  ): Promise<{ key: string; record: ApiKeyRecord }> =>
    manager.create({ accountId, actor, name: "Test key", environment: "prod", ...extra });

  const pro = await make("acc_pro");
  const readOnly = await make("acc_pro", { permissions: "read-only" });
  const starter = await make("acc_starter");
  const revoked = await make("acc_pro");
  await manager.revoke({ accountId: "acc_pro", actor, id: revoked.record.id });
  const expired = await make("acc_pro", { expiresAt: new Date(Date.now() + HOUR) });
  const otherEnvironment = await make("acc_pro", { environment: "dev" });
  const unknown = generateApiKey({ environment: "prod" }).key;

  // Two hours ahead: the expired key's time has passed, the others have no expiry.
  const clock = { now: (): number => Date.now() + 2 * HOUR };
  const auth = createApiKeyAuth({ store, accounts, environment: "prod", clock });
  const downAuth = createApiKeyAuth({ store: failingStore(), accounts, environment: "prod", timeouts: 200 });
  return {
    keys: {
      pro: pro.key,
      readOnly: readOnly.key,
      starter: starter.key,
      revoked: revoked.key,
      expired: expired.key,
      otherEnvironment: otherEnvironment.key,
      unknown,
    },
    ids: {
      pro: pro.record.id,
      readOnly: readOnly.record.id,
      starter: starter.record.id,
      revoked: revoked.record.id,
      expired: expired.record.id,
      otherEnvironment: otherEnvironment.record.id,
      unknown: null,
    },
    auth,
    downAuth,
    store,
  };
}

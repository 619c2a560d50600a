/**
 * What every standalone example server does first: an in-memory key store, one Pro account, and
 * one key generated at start and printed once (it exists nowhere else: the store keeps a hash).
 */
import { createApiKeyAuth, createKeyManager, MemoryKeyStore, type ApiKeyAuth } from "../../src/index.js";

export interface ExampleSetup {
  auth: ApiKeyAuth;
  key: string;
  port: number;
}

export async function createExampleSetup(): Promise<ExampleSetup> {
  const store = new MemoryKeyStore();
  const accounts = { getPlan: (accountId: string) => (accountId === "acc_example" ? "pro" : null) };
  const manager = createKeyManager({ store, accounts });
  const { key } = await manager.create({
    accountId: "acc_example",
    actor: { id: "usr_admin", admin: true },
    name: "Example",
    environment: "dev",
  });
  const auth = createApiKeyAuth({ store, accounts });
  return { auth, key, port: Number(process.env["PORT"] ?? 3000) };
}

/** Print where the API listens, the key (once) and a request to try. */
export function announce(framework: string, port: number, key: string): void {
  const url = `http://127.0.0.1:${port}`;
  console.log(`${framework} example API listening on ${url}`);
  console.log(`API key (shown once): ${key}`);
  console.log(`Try: curl -i ${url}/v1/contacts -H "Authorization: Bearer ${key}"`);
}

/** Stop cleanly on Ctrl-C: close the server, then flush last-used times. */
export function closeOnSignal(close: () => Promise<void>, auth: ApiKeyAuth): void {
  const stop = (): void => {
    void close()
      .then(() => auth.close())
      .finally(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

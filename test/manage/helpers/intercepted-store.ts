// A MemoryKeyStore behind a hook that every KeyStore call goes through: the manager tests make
// chosen methods fail, hang or answer late by overriding `run`.
import { MemoryKeyStore, type ApiKeyRecord, type ApiKeyUsage, type KeyStore, type RevokeOptions } from "../../../src/index.js";

export type StoreMethod = "insert" | "getByHash" | "getById" | "listByAccount" | "revoke" | "recordUsage";
export const STORE_METHODS: readonly StoreMethod[] = ["insert", "getByHash", "getById", "listByAccount", "revoke", "recordUsage"];

export abstract class InterceptedStore implements KeyStore {
  readonly inner = new MemoryKeyStore();

  /** Answer the call to `method`; `ok` makes the real one. */
  protected abstract run<T>(method: StoreMethod, ok: () => Promise<T>): Promise<T>;

  insert(record: ApiKeyRecord) {
    return this.run("insert", () => this.inner.insert(record));
  }
  getByHash(hash: string) {
    return this.run("getByHash", () => this.inner.getByHash(hash));
  }
  getById(id: string) {
    return this.run("getById", () => this.inner.getById(id));
  }
  listByAccount(accountId: string) {
    return this.run("listByAccount", () => this.inner.listByAccount(accountId));
  }
  revoke(id: string, options?: RevokeOptions) {
    return this.run("revoke", () => this.inner.revoke(id, options));
  }
  recordUsage(batch: readonly ApiKeyUsage[]) {
    return this.run("recordUsage", () => this.inner.recordUsage(batch));
  }
}

/**
 * `@fluenzr/api-keys/redis`: the KeyStore on Redis, over ioredis.
 *
 * @module
 */
export { RedisKeyStore, type RedisKeyStoreOptions } from "./redis-key-store.js";
export type { UnconfirmedRevocation, UnconfirmedRevocationHandler } from "../acknowledgements.js";

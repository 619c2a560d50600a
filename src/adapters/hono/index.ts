/**
 * `@fluenzr/api-keys/hono`: the authenticator as Hono 4 middleware (Web APIs only).
 *
 * @module
 */
export { apiKeyAuth, type ApiKeyAuthEnv, type HonoApiKeyAuthOptions } from "./api-key-auth.js";
export type { AuthenticatedApiKey } from "../../auth/create-api-key-auth.js";

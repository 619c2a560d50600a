/**
 * `@fluenzr/api-keys/fastify`: the authenticator as a Fastify 5 plugin.
 *
 * @module
 */
export { apiKeyAuth, type FastifyApiKeyAuthHook, type FastifyApiKeyAuthOptions } from "./api-key-auth.js";
export type { AuthenticatedApiKey } from "../../auth/create-api-key-auth.js";

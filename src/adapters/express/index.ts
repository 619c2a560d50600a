/**
 * `@fluenzr/api-keys/express`: the authenticator as Express 4 and 5 middleware.
 *
 * @module
 */
export { apiKeyAuth, type ExpressApiKeyAuthOptions } from "./api-key-auth.js";
export type { AuthenticatedApiKey } from "../../auth/create-api-key-auth.js";

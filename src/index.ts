/**
 * `@fluenzr/api-keys`: issue API keys, store only their hashes, check every request.
 * The core uses Web-standard APIs only (no `node:` imports).
 *
 * @module
 */
export { ApiKeyError, errorBody, isApiKeyError, type ApiKeyErrorBody, type ApiKeyErrorCode, type ApiKeyErrorOptions } from "./errors.js";
export { defineKeyFormat, getDefaultKeyFormat, BODY_LENGTH, MAX_KEY_LENGTH, type KeyFormat, type KeyFormatOptions } from "./format/key-format.js";
export { generateApiKey, type GenerateApiKeyOptions, type GeneratedApiKey } from "./format/generate-api-key.js";
export { parseApiKey, type ParseApiKeyFailure, type ParseApiKeyOptions, type ParseApiKeyResult } from "./format/parse-api-key.js";
export { hashApiKey, type HashApiKeyOptions, type Pepper, type PepperOption, type PepperSecret } from "./hash/hash-api-key.js";
export type { RandomSource } from "./lib/random.js";
export type {
  ApiKeyPermissions,
  ApiKeyRecord,
  ApiKeyRevocation,
  ApiKeyUsage,
  KeyStore,
  RevokeOptions,
} from "./store/key-store.js";
export { MemoryKeyStore } from "./store/memory-key-store.js";
export {
  createApiKeyAuth,
  type AccountPlans,
  type ApiKeyAuth,
  type ApiKeyAuthEvent,
  type ApiKeyAuthOptions,
  type ApiKeyAuthRequest,
  type ApiKeyAuthResult,
  type ApiKeyAuthSuccess,
  type AuthenticatedApiKey,
} from "./auth/create-api-key-auth.js";
export type { VerificationCacheOptions } from "./auth/verification-cache.js";
export {
  PERMISSION_MESSAGE,
  UNAUTHORIZED_MESSAGE,
  UNAVAILABLE_MESSAGE,
  type ApiKeyAuthFailure,
  type ApiKeyAuthFailureReason,
} from "./auth/responses.js";
export { MAX_AUTHORIZATION_LENGTH } from "./auth/authorization-header.js";
export {
  createKeyManager,
  type ApiKeyListItem,
  type ApiKeyStatus,
  type CreateApiKeyInput,
  type CreatedApiKey,
  type KeyManager,
  type KeyManagerActor,
  type KeyManagerOptions,
  type KeyLastSeen,
} from "./manage/create-key-manager.js";
export { MAX_GRACE_PERIOD_MS, type RotateApiKeyInput, type RotatedApiKey } from "./manage/rotate-api-key.js";
export type { RotationStatus, RotationStatusInput } from "./manage/rotation-status.js";
export type { UnusedApiKeysInput } from "./manage/unused-api-keys.js";
export {
  createUsageMonitor,
  type UsageMonitor,
  type UsageMonitorOptions,
  type UsageMonitorStats,
  type UsageThreshold,
} from "./monitor/create-usage-monitor.js";
export type { UsageAlert, UsageAlertType } from "./monitor/usage-alert.js";

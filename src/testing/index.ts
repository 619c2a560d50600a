/**
 * Test helpers: a fake clock, a seeded random source, and the KeyStore conformance suite.
 * Import from `@fluenzr/api-keys/testing` (needs vitest for the suite).
 *
 * @module
 */
export { createFakeClock, type FakeClock } from "./fake-clock.js";
export { createSeededRandom } from "./seeded-random.js";
export { makeTestRecord, runKeyStoreConformance, type KeyStoreConformanceOptions } from "./conformance.js";
export type { TestRunner } from "./test-runner.js";

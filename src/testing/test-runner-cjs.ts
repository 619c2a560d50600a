/**
 * CommonJS stand-in for test-runner.ts: vitest refuses `require()`, so here the suite takes
 * `describe`/`it` from the options or from test globals (vitest `globals: true`, jest, mocha).
 *
 * @module
 */
import { invalidOption } from "../errors.js";
import type { TestRunner } from "./test-runner.js";

/** @internal */
export function testRunner(given?: Partial<TestRunner>): TestRunner {
  const g = globalThis as Partial<TestRunner>;
  const describe = given?.describe ?? g.describe;
  const it = given?.it ?? g.it;
  if (typeof describe !== "function" || typeof it !== "function") {
    invalidOption(
      "runner",
      "no test runner found (runKeyStoreConformance): import @fluenzr/api-keys/testing from an ES module under vitest, enable test globals, or pass { runner: { describe, it } }",
    );
  }
  return { describe, it };
}

/**
 * Where the conformance suite gets `describe` and `it` in the ES module build: vitest when it is
 * installed (imported once, when /testing loads, and only if present: the fake clock and the seeded
 * random source work under any test runner, or none), else test globals (jest, mocha, vitest with
 * `globals: true`) or what the caller passes. The CommonJS build swaps in test-runner-cjs.ts.
 *
 * @module
 */
import { invalidOption } from "../errors.js";

/**
 * The two test-definition functions the conformance suite needs: pass yours as
 * `runKeyStoreConformance(name, makeStore, { runner: { describe, it } })` under a runner other
 * than vitest.
 *
 * @example
 * ```ts
 * import { describe, it } from "node:test";
 * import { runKeyStoreConformance } from "@fluenzr/api-keys/testing";
 * runKeyStoreConformance("MyStore", () => new MyStore(), { runner: { describe, it } });
 * ```
 */
export interface TestRunner {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>): void;
}

// A variable specifier: bundlers leave the optional peer alone, and its absence is not an error here.
const VITEST = "vitest";
const vitest: Partial<TestRunner> | undefined = await import(/* @vite-ignore */ VITEST).then(
  (m: Partial<TestRunner>) => m,
  () => undefined,
);

/** The runner passed in, else vitest's, else test globals; throws if there is none. @internal */
export function testRunner(given?: Partial<TestRunner>): TestRunner {
  const g = globalThis as Partial<TestRunner>;
  const describe = given?.describe ?? vitest?.describe ?? g.describe;
  const it = given?.it ?? vitest?.it ?? g.it;
  if (typeof describe !== "function" || typeof it !== "function") {
    invalidOption(
      "runner",
      "no test runner found (runKeyStoreConformance): install vitest, enable test globals, or pass { runner: { describe, it } }",
    );
  }
  return { describe, it };
}

/**
 * Where the conformance suite gets `describe` and `it`: vitest, imported statically in the ES
 * module build. (The CommonJS build swaps in test-runner-cjs.ts: vitest cannot be required.)
 *
 * @module
 */
import { describe, it } from "vitest";

/** The two test-definition functions the suite needs. @internal */
export interface TestRunner {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>): void;
}

/** The runner, or the one passed in. @internal */
export function testRunner(given?: Partial<TestRunner>): TestRunner {
  return { describe: given?.describe ?? describe, it: given?.it ?? it };
}

/**
 * Without a test runner the conformance suite says how to pass one, as an ApiKeyError naming the
 * `runner` option, in the form the option really takes (under CommonJS there is no vitest import).
 */
import { describe, expect, it } from "vitest";
import { isApiKeyError } from "../../src/index.js";
import { testRunner as commonJsRunner } from "../../src/testing/test-runner-cjs.js";
import { testRunner } from "../../src/testing/test-runner.js";

describe("the conformance suite's test runner", () => {
  it("CommonJS build with no runner and no test globals: INVALID_OPTIONS naming runner, with the form to pass", () => {
    let error: unknown;
    try {
      commonJsRunner();
    } catch (e) {
      error = e;
    }
    expect(isApiKeyError(error) && [error.code, error.field]).toEqual(["INVALID_OPTIONS", "runner"]);
    expect((error as Error).message).toContain("{ runner: { describe, it } }");
  });

  it("a runner passed in is used as given, in both builds", () => {
    const runner = { describe: () => {}, it: () => {} };
    expect(commonJsRunner(runner)).toEqual(runner);
    expect(testRunner(runner)).toEqual(runner);
  });
});

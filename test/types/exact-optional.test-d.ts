// Consumers with `exactOptionalPropertyTypes` (our own tsconfig has it) pass options straight from
// `string | undefined` sources such as environment variables. Every option the runtime reads with
// `??` or `=== undefined` must say `| undefined` in its type, or such a consumer cannot compile.
import { describe, expectTypeOf, it } from "vitest";
import {
  ApiKeyError,
  defineKeyFormat,
  type ApiKeyErrorOptions,
  type KeyFormatOptions,
} from "../../src/index.js";
import type { FastifyContextConfig } from "fastify";
import "../../src/adapters/fastify/index.js";
import type { KeyStoreConformanceOptions } from "../../src/testing/index.js";

declare const text: string | undefined;
declare const flag: boolean | undefined;
declare const count: number | undefined;

describe("options accept an explicit undefined (exactOptionalPropertyTypes)", () => {
  it("defineKeyFormat", () => {
    const options: KeyFormatOptions = { prefix: text, type: text, environments: undefined, checksum: flag };
    expectTypeOf(defineKeyFormat).toBeCallableWith(options);
  });

  it("ApiKeyError", () => {
    const options: ApiKeyErrorOptions = { status: count, field: text, cause: undefined };
    expectTypeOf(new ApiKeyError("INVALID_INPUT", "bad", options).status).toEqualTypeOf<number | undefined>();
  });

  it("runKeyStoreConformance", () => {
    const options: KeyStoreConformanceOptions = { teardown: undefined, announcementTimeoutMs: count, runner: undefined, strictInput: flag };
    expectTypeOf(options).toExtend<KeyStoreConformanceOptions>();
  });

  it("the Fastify route flag", () => {
    const config: FastifyContextConfig = { apiKeyAuth: flag };
    expectTypeOf(config.apiKeyAuth).toEqualTypeOf<boolean | undefined>();
  });
});

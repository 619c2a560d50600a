// The ApiKeyError a management call rejects with (the test fails if it resolves, or rejects with anything else).
import { expect } from "vitest";
import { isApiKeyError, type ApiKeyError } from "../../../src/index.js";

export async function rejection(promise: Promise<unknown>): Promise<ApiKeyError> {
  try {
    await promise;
  } catch (error) {
    expect(isApiKeyError(error)).toBe(true);
    return error as ApiKeyError;
  }
  throw new Error("expected a rejection");
}

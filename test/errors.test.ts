import { describe, expect, it } from "vitest";
import { ApiKeyError, errorBody, isApiKeyError } from "../src/index.js";

describe("errors are data (STYLE: one base class, stable code, cause)", () => {
  it("ApiKeyError carries code, status, field, the envelope body and the cause", () => {
    const cause = new Error("root");
    const e = new ApiKeyError("VALIDATION_ERROR", "Invalid name: required", { status: 400, field: "name", cause });
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.status, e.field, e.cause]).toEqual(["ApiKeyError", "VALIDATION_ERROR", 400, "name", cause]);
    expect(e.body).toEqual({ success: false, error: { code: "VALIDATION_ERROR", message: "Invalid name: required" } });
  });

  it("isApiKeyError works without instanceof (another copy of the package)", () => {
    const foreign = Object.assign(new Error("x"), { code: "NOT_FOUND" });
    Object.defineProperty(foreign, Symbol.for("@fluenzr/api-keys/ApiKeyError"), { value: true });
    expect(isApiKeyError(foreign)).toBe(true);
    expect(isApiKeyError(new Error("x"))).toBe(false);
    expect(isApiKeyError(null)).toBe(false);
    expect(isApiKeyError({ code: "NOT_FOUND" })).toBe(false);
  });

  it("errorBody builds the exact envelope", () => {
    expect(JSON.stringify(errorBody("FORBIDDEN", "API access requires Pro plan"))).toBe(
      '{"success":false,"error":{"code":"FORBIDDEN","message":"API access requires Pro plan"}}',
    );
  });
});

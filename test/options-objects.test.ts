/**
 * Options are plain objects: a Map, an array or another built-in given where options go is
 * refused (its entries are no options, so a pepper in a Map would silently be no pepper), and an
 * unknown option whose name could be a key is described, never repeated in the error.
 */
import { describe, expect, it } from "vitest";
import {
  createApiKeyAuth,
  createKeyManager,
  createUsageMonitor,
  defineKeyFormat,
  generateApiKey,
  hashApiKey,
  isApiKeyError,
  MemoryKeyStore,
  parseApiKey,
} from "../src/index.js";

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

const key = generateApiKey({ environment: "prod" }).key;
const calls: [string, (options: unknown) => unknown][] = [
  ["hashApiKey", (o) => hashApiKey(key, o as never)],
  ["generateApiKey", (o) => generateApiKey(o as never)],
  ["parseApiKey", (o) => parseApiKey(key, o as never)],
  ["defineKeyFormat", (o) => defineKeyFormat(o as never)],
  ["createApiKeyAuth", (o) => createApiKeyAuth(o as never)],
  ["createKeyManager", (o) => createKeyManager(o as never)],
  ["createUsageMonitor", (o) => createUsageMonitor(o as never)],
];

describe("options objects", () => {
  it.each(calls)("%s refuses a Map, an array, a Date or a RegExp where its options go", (_name, call) => {
    for (const options of [new Map([["pepper", "s3cret"]]), [], [["pepper", "s3cret"]], new Date(), /x/]) {
      const error = thrown(() => call(options));
      expect(isApiKeyError(error) && error.code, String(options)).toBe("INVALID_OPTIONS");
      expect((error as Error).message).toMatch(/expects a plain options object/);
    }
  });

  it.each(calls)("%s refuses a class instance or an object whose options come from its prototype (they would be dropped)", (_name, call) => {
    class Options {
      get environment(): string {
        return "prod";
      }
    }
    for (const options of [new Options(), Object.create({ environment: "prod" }) as object]) {
      const error = thrown(() => call(options));
      expect(isApiKeyError(error) && error.code).toBe("INVALID_OPTIONS");
      expect((error as Error).message).toMatch(/expects a plain options object \(\{ … \}; not a class instance or an object that inherits its options\)/);
    }
  });

  it("a plain object of another realm (a vm context) and one without a prototype are options", async () => {
    const vm = await import("node:vm");
    const foreign = vm.runInNewContext("({})") as object;
    expect(Object.getPrototypeOf(foreign)).not.toBe(Object.prototype);
    expect(() => generateApiKey(foreign as never)).not.toThrow();
    expect(() => generateApiKey(Object.create(null) as never)).not.toThrow();
  });

  it("a pepper in a Map is refused, not dropped (the hash would have had no pepper)", () => {
    expect(() => hashApiKey(key, new Map([["pepper", "s3cret"]]) as never)).toThrow(/options object/);
    expect(hashApiKey(key, { pepper: "s3cret" })).toMatch(/^hmac-sha256:1:/);
  });

  it("a pepper object with a field other than version and secret is refused, without naming the field", () => {
    const error = thrown(() => hashApiKey(key, { pepper: { version: "2", secret: "x", secert: "y" } as never }));
    expect(isApiKeyError(error) && [error.code, error.field]).toEqual(["INVALID_OPTIONS", "pepper"]);
    expect((error as Error).message).not.toContain("secert");
    const keyAsField = thrown(() => createApiKeyAuth({ store: new MemoryKeyStore(), pepper: { version: "2", secret: "x", [key]: 1 } as never }));
    expect(JSON.stringify(keyAsField) + String(keyAsField) + (keyAsField as Error).message).not.toContain(key.slice(-32));
  });

  it.each(calls)("%s does not repeat an unknown option whose name could be a key", (_name, call) => {
    const base: Record<string, unknown> = _name === "createApiKeyAuth" || _name === "createKeyManager" ? { store: new MemoryKeyStore() } : {};
    if (_name === "createUsageMonitor") base["onAlert"] = () => {};
    for (const name of [key, key.slice(-32), `x${key.slice(-31)}`]) {
      const error = thrown(() => call({ ...base, [name]: 1 }));
      expect(isApiKeyError(error) && error.code).toBe("INVALID_OPTIONS");
      const text = `${String(error)} ${JSON.stringify(error)} ${(error as { field?: string }).field}`;
      expect(text).not.toContain(key.slice(-31));
      expect(text).toContain("(an unknown option)");
    }
    // A short name is still named, so a typo is easy to find.
    const typo = thrown(() => call({ ...base, pepprr: 1 }));
    expect((typo as { field?: string }).field).toBe("pepprr");
  });
});

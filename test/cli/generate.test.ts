// `fluenzr-keys generate` (issue 6): a new key and its stored hash, via the real binary.
import { beforeAll, describe, expect, it } from "vitest";
import { hashApiKey, parseApiKey } from "../../src/index.js";
import { ensureCliBuilt, runCli } from "./cli-process.js";

beforeAll(ensureCliBuilt);

function fields(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.trim().split("\n").map((l) => l.split(/:\s+/, 2) as [string, string]));
}

describe("fluenzr-keys generate", () => {
  it("prints a valid key without environment, its hint and its SHA-256 hash (DESIGN §3, §4)", () => {
    const run = runCli(["generate"]);
    expect(run.code).toBe(0);
    const { key, hint, hash } = fields(run.stdout) as { key: string; hint: string; hash: string };
    expect(parseApiKey(key)).toEqual({ ok: true, environment: null, hint });
    expect(hash).toBe(hashApiKey(key));
    expect(run.stderr).toBe("");
  });

  it("--env tags the key, --json prints one object with key, hint, environment and hash", () => {
    const run = runCli(["generate", "--env", "dev", "--json"]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { key: string; hint: string; environment: string; hash: string };
    expect(Object.keys(out).sort()).toEqual(["environment", "hash", "hint", "key"]);
    expect(out.key.startsWith("flz_sk_dev_")).toBe(true);
    expect(parseApiKey(out.key)).toEqual({ ok: true, environment: "dev", hint: out.hint });
    expect(out.environment).toBe("dev");
    expect(out.hash).toBe(hashApiKey(out.key));
  });

  it("every run draws a new key", () => {
    const keys = new Set([1, 2, 3].map(() => (JSON.parse(runCli(["generate", "--json"]).stdout) as { key: string }).key));
    expect(keys.size).toBe(3);
  });

  it("--pepper-env hashes with HMAC-SHA-256 and the pepper from that variable, versioned; the pepper is never printed", () => {
    const secret = "pepper-secret-value-0123";
    const run = runCli(["generate", "--json", "--pepper-env", "MY_PEPPER", "--pepper-version", "2024-06"], {
      env: { MY_PEPPER: secret },
    });
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { key: string; hash: string };
    expect(out.hash).toBe(hashApiKey(out.key, { pepper: { version: "2024-06", secret } }));
    expect(out.hash.startsWith("hmac-sha256:2024-06:")).toBe(true);
    expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it("an unset pepper variable is a usage error naming it (exit 2), not a silent plain hash", () => {
    const run = runCli(["generate", "--pepper-env", "NO_SUCH_PEPPER_VAR"], { env: { NO_SUCH_PEPPER_VAR: undefined } });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain('environment variable "NO_SUCH_PEPPER_VAR" (from "--pepper-env") is not set');
  });

  it("a pepper pasted where the variable's name goes is not repeated, even when it is letters and digits", () => {
    const pasted = "kQ3vZ8pL2xR7mN4w";
    const run = runCli(["generate", "--pepper-env", pasted], { env: { [pasted]: undefined } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('environment variable named by it (from "--pepper-env") is not set or empty');
    expect(run.stdout + run.stderr).not.toContain(pasted);
  });

  it("takes no positional arguments", () => {
    const run = runCli(["generate", "prod"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("generate takes no arguments");
  });
});

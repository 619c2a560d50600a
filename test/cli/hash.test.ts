// `fluenzr-keys hash` (issue 6): the stored hash of a key read from stdin, never from an argument.
import { beforeAll, describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey } from "../../src/index.js";
import { ensureCliBuilt, runCli } from "./cli-process.js";

beforeAll(ensureCliBuilt);

const { key } = generateApiKey({ environment: "stag" });

describe("fluenzr-keys hash", () => {
  it("prints hashApiKey(key) for a key on stdin (DESIGN §4: sha256:<hex>)", () => {
    const run = runCli(["hash"], { input: `${key}\n` });
    expect(run).toEqual({ code: 0, stdout: `${hashApiKey(key)}\n`, stderr: "" });
  });

  it("--pepper-env reads the pepper from the environment; --pepper-version is recorded in the hash", () => {
    const secret = "a-long-server-side-pepper";
    const v1 = runCli(["hash", "--pepper-env", "API_KEY_PEPPER"], { input: key, env: { API_KEY_PEPPER: secret } });
    expect(v1.stdout).toBe(`${hashApiKey(key, { pepper: secret })}\n`);
    expect(v1.stdout.startsWith("hmac-sha256:1:")).toBe(true);
    const v2 = runCli(["hash", "--pepper-env", "API_KEY_PEPPER", "--pepper-version", "2"], { input: key, env: { API_KEY_PEPPER: secret } });
    expect(v2.stdout).toBe(`${hashApiKey(key, { pepper: { version: "2", secret } })}\n`);
    expect(v1.stdout + v1.stderr + v2.stdout + v2.stderr).not.toContain(secret);
  });

  it("refuses a key given as an argument (shell history), exit 2, without echoing it", () => {
    const run = runCli(["hash", key]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("shell history");
    expect(run.stderr).not.toContain(key.slice(12));
  });

  it("an unset or empty --pepper-env variable exits 2 naming it", () => {
    for (const value of [undefined, ""]) {
      const run = runCli(["hash", "--pepper-env", "MISSING_PEPPER"], { input: key, env: { MISSING_PEPPER: value } });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('"MISSING_PEPPER"');
    }
  });

  it("a pepper pasted into --pepper-env instead of a variable name is refused without being printed", () => {
    for (const pasted of ["s3cr3t/pepper+value==", "flz_sk_AbCdEfGhIjKlMnOpQrStUvWxYz012345"]) {
      const run = runCli(["hash", "--pepper-env", pasted], { input: key });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('"--pepper-env"');
      expect(run.stdout + run.stderr).not.toContain(pasted);
      expect(run.stdout + run.stderr).not.toContain(pasted.slice(7, 20));
    }
  });

  it("a bad pepper version exits 2 naming the flag", () => {
    const run = runCli(["hash", "--pepper-env", "P", "--pepper-version", "v 1"], { input: key, env: { P: "secret" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"--pepper-version"');
  });

  it("an invalid key is not hashed: exit 1 with the reason, so a typo never reaches the store", () => {
    const typo = `${key.slice(0, -1)}${key.endsWith("z") ? "y" : "z"}`;
    const run = runCli(["hash"], { input: typo });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("not a valid key (checksum)");
    expect(run.stderr).not.toContain(typo.slice(12));
  });
});

// --prefix, --type, --environments, --no-checksum: every command works with a custom
// defineKeyFormat(...) (DESIGN §3: prefix and type configurable), through the real binary.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineKeyFormat, generateApiKey, hashApiKey, parseApiKey } from "../../src/index.js";
import { ensureCliBuilt, runCli } from "./cli-process.js";

beforeAll(ensureCliBuilt);

const ACME = ["--prefix", "acme", "--type", "live", "--environments", "eu,us"];
const acme = defineKeyFormat({ prefix: "acme", type: "live", environments: ["eu", "us"] });
const acmeKey = generateApiKey({ format: acme, environment: "eu" });
const dir = mkdtempSync(join(tmpdir(), "fluenzr-format-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("format flags", () => {
  it("generate makes a key of the given format, with its environment", () => {
    const run = runCli(["generate", "--json", "--env", "us", ...ACME]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { key: string; hint: string; hash: string };
    expect(out.key.startsWith("acme_live_us_")).toBe(true);
    expect(parseApiKey(out.key, { format: acme })).toEqual({ ok: true, environment: "us", hint: out.hint });
    expect(out.hash).toBe(hashApiKey(out.key));
  });

  it("check and hash accept a key of the given format, and refuse it under the default one", () => {
    expect(runCli(["check", ...ACME], { input: acmeKey.key })).toMatchObject({ code: 0, stdout: `valid: ${acmeKey.hint} (environment: eu)\n` });
    expect(runCli(["check"], { input: acmeKey.key })).toMatchObject({ code: 1 });
    expect(runCli(["hash", ...ACME], { input: acmeKey.key }).stdout).toBe(`${hashApiKey(acmeKey.key)}\n`);
    expect(runCli(["hash"], { input: acmeKey.key }).code).toBe(1);
  });

  it("scan finds keys of the given format only, still confirmed by their checksum", () => {
    const flz = generateApiKey({ environment: "prod" });
    const fake = `${acmeKey.key.slice(0, -1)}${acmeKey.key.endsWith("A") ? "B" : "A"}`;
    writeFileSync(join(dir, "mixed.txt"), `${flz.key}\n${fake}\n${acmeKey.key}\n`);
    const custom = runCli(["scan", ...ACME, dir]);
    expect(custom.code).toBe(1);
    expect(custom.stdout).toBe(`${join(dir, "mixed.txt")}:3: ${acmeKey.hint}\n`);
    expect(runCli(["scan", dir]).stdout).toBe(`${join(dir, "mixed.txt")}:1: ${flz.hint}\n`);
  });

  it("--no-checksum and --environments - describe a format of 32 random characters and no tags", () => {
    const plain = defineKeyFormat({ checksum: false, environments: [] });
    const { key, hint } = generateApiKey({ format: plain });
    expect(runCli(["check", "--no-checksum", "--environments", "-"], { input: key })).toMatchObject({ code: 0, stdout: `valid: ${hint} (environment: none)\n` });
    expect(runCli(["check", "--environments", "-"], { input: key }).stdout).toContain("invalid (checksum)");
  });

  it.each([
    [["--prefix", "ACME"], 'option "--prefix" is not valid: 1 to 16 lower-case letters or digits'],
    [["--type", "s-k"], 'option "--type" is not valid'],
    [["--environments", "eu,eu"], 'option "--environments" is not valid: tags must be distinct'],
    [["--environments", "eu", "--env", "prod"], 'option "--env" must be one of eu; got "prod"'],
  ])("a bad format flag is a usage error naming the flag: %j", (flags, message) => {
    const run = runCli(["generate", ...flags]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

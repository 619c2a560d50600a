// The command line as a whole: help, version, usage errors (issue 6: "clear errors for unknown
// commands and bad flags, --help for each command, and --version").
import { spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/index.js";
import { CLI, ensureCliBuilt, ROOT, runCli } from "./cli-process.js";

beforeAll(ensureCliBuilt);

const COMMANDS = ["generate", "check", "hash", "scan"];

describe("fluenzr-keys (the package bin)", () => {
  it("is an executable ESM file with a node shebang, runnable without `node` in front", () => {
    expect(readFileSync(CLI, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    accessSync(CLI, constants.X_OK);
    const direct = spawnSync(CLI, ["--version"], { encoding: "utf8" });
    expect(direct.status).toBe(0);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; bin: Record<string, string> };
    expect(pkg.bin["fluenzr-keys"]).toBe("./dist/cli.js");
  });

  it("--version and -v print the version from package.json", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-v"]) {
      expect(runCli([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    }
  });

  it("--help lists every command and the exit codes, on stdout with exit 0", () => {
    const run = runCli(["--help"]);
    expect(run.code).toBe(0);
    for (const name of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
    expect(run.stdout).toContain("Exit codes");
    expect(runCli(["help"]).stdout).toBe(run.stdout);
  });

  it.each(COMMANDS)("%s --help (and -h, and `help %s`) describes the command and its options", (name) => {
    const run = runCli([name, "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`fluenzr-keys ${name}`);
    expect(run.stdout).toContain("--help");
    expect(runCli([name, "-h"]).stdout).toBe(run.stdout);
    expect(runCli(["help", name]).stdout).toBe(run.stdout);
  });

  it("no command at all: the overall help on stderr and exit 2", () => {
    const run = runCli([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("Commands:");
  });

  it("an unknown command exits 2 and names it, with the list of commands", () => {
    const run = runCli(["rotate"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command "rotate"');
    expect(run.stderr).toContain("generate, check, hash, scan");
  });

  it.each([
    [["scan", "--fast"], 'unknown option "--fast" for "scan"'],
    [["check", "-x"], 'unknown option "-x" for "check"'],
    [["generate", "--env", "test"], 'option "--env" must be one of prod, stag, dev; got "test"'],
    [["generate", "--env"], 'option "--env" needs a value'],
    [["generate", "--json=yes"], 'option "--json" takes no value'],
    [["generate", "--env", "dev", "--env", "prod"], 'option "--env" given twice'],
    [["--verbose"], 'unknown option "--verbose"'],
    [["scan", "--staged", "src"], '"--staged" scans the staged files; it takes no paths'],
    [["hash", "--pepper-version", "2"], 'option "--pepper-version" needs "--pepper-env"'],
  ])("bad flags exit 2 with a message naming the flag: %j", (args, message) => {
    const run = runCli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(message);
    expect(run.stderr).toMatch(/Run "fluenzr-keys( \w+)? --help" for usage\./);
  });

  it("a key typed where a command or flag goes is never echoed in the error", () => {
    const { key } = generateApiKey({ environment: "prod" });
    for (const args of [[key], ["scan", `--${key}`], ["generate", "--env", key], ["help", key]]) {
      const run = runCli(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("looks like a key, not shown");
      expect(run.stdout + run.stderr).not.toContain(key.slice(7));
    }
  });
});

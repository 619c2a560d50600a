// `fluenzr-keys scan --staged` in a real temporary git repository (issue 6: "what git is about to
// commit"), and the documented pre-commit hook line blocking a commit that carries a key.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/index.js";
import { CLI, ensureCliBuilt, runCli } from "./cli-process.js";

beforeAll(ensureCliBuilt);

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// Isolated from the user's git configuration and identity.
const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
};

function git(cwd: string, ...args: string[]): { code: number | null; output: string } {
  const r = spawnSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, ...GIT_ENV } });
  return { code: r.status, output: r.stdout + r.stderr };
}

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), "fluenzr-staged-test-"));
  dirs.push(dir);
  expect(git(dir, "init", "-q").code).toBe(0);
  return dir;
}

function write(dir: string, path: string, content: string | Uint8Array): void {
  mkdirSync(join(dir, path, ".."), { recursive: true });
  writeFileSync(join(dir, path), content);
}

const key = generateApiKey({ environment: "prod" });

describe("fluenzr-keys scan --staged", () => {
  it("reports a key in a staged file (path relative to the repository) and exits 1", () => {
    const dir = repo();
    write(dir, "src/config.ts", `export const key = "${key.key}";\n`);
    write(dir, "README.md", "hello\n");
    git(dir, "add", ".");
    const run = runCli(["scan", "--staged"], { cwd: dir, env: GIT_ENV });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`src/config.ts:1: ${key.hint}\n`);
    expect(run.stderr).toContain("2 files scanned");
    expect(run.stdout + run.stderr).not.toContain(key.key.slice(12));
  });

  it("scans the staged version, not the working tree: a key removed after `git add` still counts", () => {
    const dir = repo();
    write(dir, "app.env", `API_KEY=${key.key}\n`);
    git(dir, "add", "app.env");
    write(dir, "app.env", "API_KEY=\n"); // fixed on disk, but not staged
    expect(runCli(["scan", "--staged"], { cwd: dir, env: GIT_ENV }).code).toBe(1);
    expect(runCli(["scan", "app.env"], { cwd: dir }).code).toBe(0);
  });

  it("a key only in the working tree, or in a deleted file, is not part of the commit: exit 0", () => {
    const dir = repo();
    write(dir, "old.txt", `${key.key}\n`);
    write(dir, "ok.txt", "clean\n");
    git(dir, "add", ".");
    git(dir, "commit", "-q", "--no-verify", "-m", "initial");
    git(dir, "rm", "-q", "old.txt");
    write(dir, "ok.txt", `clean\n${key.key}\n`); // modified, not staged
    const run = runCli(["scan", "--staged"], { cwd: dir, env: GIT_ENV });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("no API keys found; 0 files scanned");
  });

  it("works from a subfolder, skips staged binary files, and handles names with spaces", () => {
    const dir = repo();
    write(dir, "deep/folder/with space.md", `x\n\n${key.key}\n`);
    write(dir, "deep/blob.bin", Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(key.key)]));
    git(dir, "add", ".");
    const run = runCli(["scan", "--staged"], { cwd: join(dir, "deep"), env: GIT_ENV });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`deep/folder/with space.md:3: ${key.hint}\n`);
    expect(run.stderr).toContain("1 binary skipped");
  });

  it("scans a file whose type changed: a symbolic link replaced by a file with a key", () => {
    const dir = repo();
    symlinkSync("elsewhere.txt", join(dir, "config.env"));
    git(dir, "add", ".");
    git(dir, "commit", "-q", "--no-verify", "-m", "link");
    unlinkSync(join(dir, "config.env"));
    write(dir, "config.env", `API_KEY=${key.key}\n`);
    git(dir, "add", "config.env");
    const run = runCli(["scan", "--staged"], { cwd: dir, env: GIT_ENV });
    expect(run.stdout).toBe(`config.env:1: ${key.hint}\n`);
    expect(run.code).toBe(1);
  });

  it("reads files whose names look like git revision syntax (0:notes, 2:x) from the index, not another file", () => {
    const dir = repo();
    write(dir, "0:notes", `${key.key}\n`);
    write(dir, "notes", "nothing here\n");
    write(dir, "2:x", `x\n${key.key}\n`);
    git(dir, "add", ".");
    const run = runCli(["scan", "--staged"], { cwd: dir, env: GIT_ENV });
    expect(run.stderr).not.toContain("cannot read");
    expect(run.stdout).toBe(`0:notes:1: ${key.hint}\n2:x:2: ${key.hint}\n`);
    expect(run.code).toBe(1);
  });

  it("a commit of many files is scanned in one pass (one git process, not one per file), empty and large files included", () => {
    const dir = repo();
    for (let i = 0; i < 600; i++) write(dir, `many/f${String(i).padStart(3, "0")}.txt`, i === 0 ? "" : `file ${i}\n`);
    const big = "lorem ipsum dolor sit amet\n".repeat(200_000); // 5.4 MB: several pipe reads
    write(dir, "many/zz-big.log", `${big}${key.key}\n${big}`);
    write(dir, "many/f300.txt", `file 300\n${key.key}`); // no newline at the end
    git(dir, "add", ".");
    const started = Date.now();
    const run = runCli(["scan", "--staged", "--json"], { cwd: dir, env: GIT_ENV });
    const elapsed = Date.now() - started;
    expect(run.stderr).toContain("601 files scanned");
    expect(run.stdout.trim().split("\n").map((l) => JSON.parse(l) as { file: string; line: number })).toEqual([
      expect.objectContaining({ file: "many/f300.txt", line: 2 }),
      expect.objectContaining({ file: "many/zz-big.log", line: 200_001 }),
    ]);
    expect(run.code).toBe(1);
    // One process per file took about 25 ms each here (15 s for 600 files); one batch takes well under a second.
    expect(elapsed).toBeLessThan(8_000);
  });

  it("outside a git repository it is a usage error (exit 2) that says so", () => {
    const dir = mkdtempSync(join(tmpdir(), "fluenzr-no-repo-"));
    dirs.push(dir);
    const run = runCli(["scan", "--staged"], { cwd: dir, env: { ...GIT_ENV, GIT_CEILING_DIRECTORIES: tmpdir() } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"--staged" needs a git repository');
  });

  it("as the documented pre-commit hook, it blocks a commit with a key and lets a clean one through", () => {
    const dir = repo();
    // The documented line is `npx fluenzr-keys scan --staged`; here the binary is called by path.
    write(dir, ".git/hooks/pre-commit", `#!/bin/sh\nexec "${process.execPath}" "${CLI}" scan --staged\n`);
    chmodSync(join(dir, ".git/hooks/pre-commit"), 0o755);
    write(dir, "settings.json", `{ "apiKey": "${key.key}" }\n`);
    git(dir, "add", ".");
    const blocked = git(dir, "commit", "-q", "-m", "add settings");
    expect(blocked.code).not.toBe(0);
    expect(blocked.output).toContain(`settings.json:1: ${key.hint}`);
    expect(blocked.output).not.toContain(key.key.slice(12));
    expect(git(dir, "rev-parse", "--verify", "HEAD").code).not.toBe(0); // nothing was committed
    write(dir, "settings.json", `{ "apiKey": "\${API_KEY}" }\n`);
    git(dir, "add", ".");
    expect(git(dir, "commit", "-q", "-m", "add settings").code).toBe(0);
  });
});

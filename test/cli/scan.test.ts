// `fluenzr-keys scan` through the real binary (issue 6): file:line and hint only, never the key;
// exit 1 when found, 0 when clean, 2 on usage errors; binary files, node_modules and .git skipped.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/index.js";
import { createSeededRandom } from "../../src/testing/index.js";
import { CLI, ensureCliBuilt, runCli } from "./cli-process.js";

beforeAll(ensureCliBuilt);

const random = createSeededRandom("cli-scan");
const [k1, k2, k3, k4] = [1, 2, 3, 4].map(() => generateApiKey({ environment: "prod", random })) as [
  ReturnType<typeof generateApiKey>, ReturnType<typeof generateApiKey>, ReturnType<typeof generateApiKey>, ReturnType<typeof generateApiKey>,
];
const allKeys = [k1, k2, k3, k4].map((k) => k.key);

/** No key, nor 8 characters of any key body, appears in the output. */
function expectNoKeyIn(output: string): void {
  for (const key of allKeys) {
    const body = key.slice("flz_sk_prod_".length);
    for (let i = 0; i + 8 <= body.length; i++) expect(output).not.toContain(body.slice(i, i + 8));
  }
}

const dirs: string[] = [];
function tree(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), "fluenzr-scan-test-"));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("fluenzr-keys scan", () => {
  it("reports file:line and the hint of each key in a folder tree, exit 1, never the key", () => {
    const dir = tree({
      "src/config.ts": `export const config = {\n  apiKey: "${k1.key}",\n};\n`,
      "docs/setup.md": `# Setup\n\nCall with \`Authorization: Bearer ${k2.key}\`.\n`,
      "README.md": "nothing here\n",
    });
    const run = runCli(["scan", dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`${join(dir, "docs/setup.md")}:3: ${k2.hint}\n${join(dir, "src/config.ts")}:2: ${k1.hint}\n`);
    expect(run.stderr).toContain("2 API keys found in 2 files; 3 files scanned");
    expectNoKeyIn(run.stdout + run.stderr);
  });

  it("scans the current folder by default and prints paths relative to it", () => {
    const dir = tree({ "a/b/c.env": `API_KEY=${k3.key}\n` });
    const run = runCli(["scan"], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`a/b/c.env:1: ${k3.hint}\n`);
  });

  it("a clean tree exits 0 and says so on stderr, stdout stays empty", () => {
    const dir = tree({ "a.ts": "const x = process.env.API_KEY;\n", "b/c.txt": "flz_sk_ is our prefix\n" });
    const run = runCli(["scan", dir]);
    expect(run).toMatchObject({ code: 0, stdout: "" });
    expect(run.stderr).toContain("no API keys found; 2 files scanned");
  });

  it("does not report look-alikes whose checksum fails", () => {
    const flip = (key: string): string => `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`;
    const dir = tree({
      "fixtures.ts": [
        `const fake1 = "${flip(k1.key)}";`,
        `const fake2 = "flz_sk_prod_${"a".repeat(32)}";`,
        `const fake3 = "flz_sk_dev_0123456789ABCDEFGHIJKLMNOPQRSTUV";`,
        `const fake4 = "x${flip(k2.key)}";`,
        `const fake5 = "${k2.key.slice(0, 30)}\n${flip(k2.key).slice(30)}";`,
      ].join("\n"),
    });
    const run = runCli(["scan", dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
  });

  it("skips binary files (a NUL byte in the first 8000 bytes), even when they contain a key", () => {
    const binary = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]), Buffer.from(` ${k1.key} `)]);
    const dir = tree({ "image.png": binary, "notes.txt": `${k2.key}\n` });
    const run = runCli(["scan", dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`${join(dir, "notes.txt")}:1: ${k2.hint}\n`);
    expect(run.stderr).toContain("1 binary skipped");
    // A NUL after the first 8000 bytes does not make a text file binary.
    const late = tree({ "log.txt": `${"x".repeat(9000)}\0\n${k1.key}\n` });
    expect(runCli(["scan", late]).stdout).toBe(`${join(late, "log.txt")}:2: ${k1.hint}\n`);
  });

  it("skips node_modules and .git folders at any depth", () => {
    const dir = tree({
      "node_modules/dep/index.js": k1.key,
      "packages/app/node_modules/x.js": k1.key,
      ".git/config": k1.key,
      "packages/app/src/ok.ts": "clean\n",
    });
    const run = runCli(["scan", dir]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("1 file scanned");
  });

  it("does not follow symbolic links inside folders (no loops, nothing outside the tree); a named link is followed", () => {
    const outside = tree({ "secret.env": `KEY=${k1.key}\n` });
    const dir = tree({ "ok.txt": "clean\n" });
    symlinkSync(".", join(dir, "loop"));
    symlinkSync(join(outside, "secret.env"), join(dir, "linked.env"));
    const run = runCli(["scan", dir]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("1 file scanned");
    expect(runCli(["scan", join(dir, "linked.env")]).code).toBe(1);
  });

  it("finds keys at the right lines in a file of thousands of lines, larger than one read chunk", () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `${i + 1}: ${"lorem ipsum dolor ".repeat(1 + (i % 5))}`);
    lines[9] = `key = ${k1.key}`;
    lines[25_000] = `key = ${k2.key}`;
    lines[39_999] = k3.key;
    const dir = tree({ "big.log": lines.join("\n") });
    const run = runCli(["scan", join(dir, "big.log")]);
    expect(run.code).toBe(1);
    const file = join(dir, "big.log");
    expect(run.stdout).toBe(`${file}:10: ${k1.hint}\n${file}:25001: ${k2.hint}\n${file}:40000: ${k3.hint}\n`);
  });

  it("finds every key of a 3 MB file of back-to-back keys once: keys straddle every read and search boundary", () => {
    // Wherever the 1 MiB reads and the scanner's rounds cut the text, some key is cut there too.
    const pool = Array.from({ length: 97 }, () => generateApiKey({ environment: "dev", random }));
    const count = 70_000;
    const lines = Array.from({ length: count }, (_, i) => (pool[i % pool.length] as (typeof pool)[0]).key);
    const dir = tree({ "keys.txt": `${lines.join("\n")}\n` });
    const run = runCli(["scan", dir]);
    expect(run.code).toBe(1);
    const file = join(dir, "keys.txt");
    const expected = lines.map((_, i) => `${file}:${i + 1}: ${(pool[i % pool.length] as (typeof pool)[0]).hint}\n`).join("");
    expect(run.stdout === expected).toBe(true); // (a 5 MB diff would drown the report)
    expect(run.stdout.split("\n").length - 1).toBe(count);
  });

  it("finds a key split across lines: wrapped with indentation, or with CRLF line ends", () => {
    const dir = tree({
      "wrapped.yaml": `service:\n  token: ${k1.key.slice(0, 24)}\n    ${k1.key.slice(24)}\n`,
      "windows.txt": `first\r\n${k2.key.slice(0, 5)}\r\n${k2.key.slice(5)}\r\n`,
    });
    const run = runCli(["scan", dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      `${join(dir, "windows.txt")}:2: ${k2.hint} (split across lines 2-3)\n` +
        `${join(dir, "wrapped.yaml")}:2: ${k1.hint} (split across lines 2-3)\n`,
    );
    expectNoKeyIn(run.stdout + run.stderr);
  });

  it("'-' scans stdin, reported as <stdin>", () => {
    const run = runCli(["scan", "-"], { input: `hello\n\nexport KEY=${k1.key}\n` });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`<stdin>:3: ${k1.hint}\n`);
    expect(runCli(["scan", "-"], { input: "nothing\n" }).code).toBe(0);
  });

  it("--json prints one object per key: file, line, endLine, hint, environment", () => {
    const dir = tree({ "a.txt": `\n${k1.key}\n` });
    const run = runCli(["scan", "--json", dir]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ file: join(dir, "a.txt"), line: 2, endLine: 2, hint: k1.hint, environment: "prod" });
  });

  it("a path that does not exist exits 2 and names it; a key found elsewhere still exits 1", () => {
    const missing = join(tmpdir(), "fluenzr-no-such-folder-xyz");
    const run = runCli(["scan", missing]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot read ${missing}: no such file or directory`);
    const dir = tree({ "k.txt": k1.key });
    expect(runCli(["scan", missing, dir]).code).toBe(1);
  });
  it("a path named on the command line that is a pipe (a FIFO, or bash's <(command)) is read, not skipped", () => {
    const dir = tree({ "content.txt": `API_KEY=${k2.key}\n` });
    // The writer runs beside the scanner, as with `fluenzr-keys scan <(git show HEAD:app.env)`.
    // If the scanner never opens the pipe, the writer would wait forever: it is stopped after the scan.
    const script =
      `mkfifo pipe || exit 99; cat content.txt > pipe 2>/dev/null & writer=$!; ` +
      `"${process.execPath}" "${CLI}" scan pipe; code=$?; kill $writer 2>/dev/null; exit $code`;
    const run = spawnSync("sh", ["-c", script], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    expect(run.stdout).toBe(`pipe:1: ${k2.hint}\n`);
    expect(run.status).toBe(1);
    expectNoKeyIn(run.stdout + run.stderr);
  });

  it("a key passed by mistake as the path is not printed in the error", () => {
    const run = runCli(["scan", k3.key]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("cannot read (a path that looks like an API key, not shown): no such file or directory");
    expectNoKeyIn(run.stdout + run.stderr);
  });

  it.each([
    ["under a file (ENOTDIR)", (dir: string) => join(dir, "file.txt", k3.key), "a part of the path is not a folder"],
    ["under a name too long (ENAMETOOLONG)", (dir: string) => join(dir, "a".repeat(300), k3.key), "name too long"],
    ["under a symbolic link loop (ELOOP)", (dir: string) => join(dir, "loop1", k3.key), "too many symbolic links"],
  ])("a key in a path that cannot be read %s is not printed in the error (the system's message repeats the path)", (_how, path, words) => {
    const dir = mkdtempSync(join(tmpdir(), "fluenzr-scan-fs-"));
    writeFileSync(join(dir, "file.txt"), "hi\n");
    symlinkSync("loop2", join(dir, "loop1"));
    symlinkSync("loop1", join(dir, "loop2"));
    const run = runCli(["scan", path(dir)]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(words);
    expectNoKeyIn(run.stdout + run.stderr);
  });
});

describe("fluenzr-keys scan: a report that cannot be forged or cut short", () => {
  it("a file name with a line break and terminal escapes is printed quoted and escaped, on one line", () => {
    const name = "a\n\x1b[2J\x1b[32mconfig.json:3: fake\u202e";
    const dir = tree({ [name]: `KEY=${k1.key}\n` });
    const run = runCli(["scan", "."], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`"a\\n\\x1b[2J\\x1b[32mconfig.json:3: fake\\u202e":1: ${k1.hint}\n`);
    expect(run.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\u202e]/);
    // JSON keeps the real name (escaped by JSON, and the bidirectional control too).
    const json = runCli(["scan", "--json", "."], { cwd: dir });
    expect(json.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\u202e]/);
    expect(JSON.parse(json.stdout).file).toBe(name);
  });

  it("a key of another format passed as the path is not printed either (--prefix, --type)", () => {
    for (const flags of [["--prefix", "acme"], ["--type", "pk"]]) {
      const run = runCli(["scan", ...flags, k3.key]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("cannot read (a path that looks like an API key, not shown)");
      expectNoKeyIn(run.stdout + run.stderr);
    }
  });

  it("when the reader closes the pipe early (| head), the exit code still says a key was found", () => {
    const lines = Array.from({ length: 20_000 }, () => `KEY=${k2.key}`).join("\n");
    const dir = tree({ "many.env": `${lines}\n` });
    // stdin is read asynchronously: the pipe breaks while the scan is still going.
    const script = `cat many.env | "${process.execPath}" "${CLI}" scan - 2>/dev/null | head -n 1 >/dev/null; echo "\${PIPESTATUS[1]}"`;
    const run = spawnSync("bash", ["-c", script], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(run.stdout.trim()).toBe("1");
  });

  it("an output that cannot be written (a full disk) exits 2 with one line, not a stack trace", () => {
    const run = spawnSync("sh", ["-c", `"${process.execPath}" "${CLI}" generate > /dev/full`], { encoding: "utf8", timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe("fluenzr-keys: cannot write the output (ENOSPC)\n");
  });
});

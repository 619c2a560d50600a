// Package check, run by `npm test` after the build: pack the tarball the way npm publishes it, lint
// it (publint, @arethetypeswrong/cli for both `import` and `require`), then install it into fresh
// temporary projects — each with only the framework or client its subpath needs — and load every
// subpath with `import` and with `require`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const run = (cmd, args, options = {}) =>
  execFileSync(cmd, args, { cwd: root, stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"], encoding: "utf8", ...options });

const work = mkdtempSync(join(tmpdir(), "fluenzr-pack-"));
let failures = 0;
let checks = 0;
const step = (name, fn) => {
  checks++;
  try {
    const out = fn();
    console.log(`ok   ${name}${out ? `\n${out.trim().replace(/^/gm, "     ")}` : ""}`);
  } catch (error) {
    failures++;
    console.log(`FAIL ${name}\n${String(error.stdout ?? "")}${String(error.stderr ?? "")}${error.stdout ? "" : error.message}`);
  }
};

try {
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work]));
  const tarball = join(work, packed[0].filename);
  console.log(`packed ${packed[0].filename}: ${packed[0].entryCount} files, ${packed[0].size} bytes`);
  const listed = packed[0].files.map((f) => f.path);
  step("tarball holds dist/, README.md, CHANGELOG.md and nothing from src/ or test/", () => {
    for (const must of ["README.md", "CHANGELOG.md", "package.json", "dist/index.js", "dist/index.cjs", "dist/index.d.ts"]) {
      if (!listed.includes(must)) throw new Error(`missing ${must}`);
    }
    const stray = listed.filter((p) => /^(src|test|bench|scripts)\//.test(p));
    if (stray.length) throw new Error(`unexpected files: ${stray.join(", ")}`);
  });

  step("the core bundle imports only @noble/hashes and zod (no node: module, no framework, no database client)", () => {
    for (const file of ["dist/index.js", "dist/index.cjs"]) {
      const text = readFileSync(join(root, file), "utf8");
      const specifiers = [...text.matchAll(/(?:from\s*|require\()\s*["']([^"']+)["']/g)].map((m) => m[1]);
      const stray = specifiers.filter((s) => !s.startsWith("@noble/hashes/") && s !== "zod");
      if (stray.length) throw new Error(`${file} loads ${stray.join(", ")}`);
    }
  });
  step("runtime dependencies are exactly @noble/hashes and zod (DESIGN §2); fastify-plugin is built in", () => {
    const deps = Object.keys(pkg.dependencies ?? {}).sort().join(", ");
    if (deps !== "@noble/hashes, zod") throw new Error(`dependencies: ${deps}`);
    for (const file of ["dist/fastify/index.js", "dist/fastify/index.cjs"]) {
      if (/(?:from\s*|require\()\s*["']fastify-plugin["']/.test(readFileSync(join(root, file), "utf8"))) throw new Error(`${file} loads fastify-plugin`);
    }
  });
  step("publint --strict", () => run("npx", ["publint", "run", ".", "--strict"]));
  step("attw (node10 through typesVersions, node16 import and require, bundler)", () =>
    run("npx", ["attw", tarball, "--format", "table-flipped"]),
  );

  // What each subpath needs installed beside it (its optional peer dependency), at our tested version.
  const needs = {
    ".": [],
    "./testing": ["vitest"],
    "./express": ["express"],
    "./fastify": ["fastify"],
    "./hono": ["hono"],
    "./postgres": ["pg"],
    "./redis": ["ioredis"],
  };
  const version = (name) => (pkg.devDependencies?.[name] ?? pkg.peerDependencies?.[name] ?? "latest").replace(/^npm:[^@]+@/, "");
  const subpaths = Object.keys(pkg.exports).filter((k) => k !== "./package.json");
  for (const subpath of subpaths) {
    const extra = needs[subpath];
    if (extra === undefined) {
      failures++;
      console.log(`FAIL ${subpath}: the package check does not know what this subpath needs (edit scripts/check-package.mjs)`);
      continue;
    }
    const dir = mkdtempSync(join(work, "app-"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
    const specifier = subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
    step(`install ${specifier} with ${extra.join(", ") || "no framework"}`, () => {
      run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", tarball, ...extra.map((n) => `${n}@${version(n)}`)], { cwd: dir });
    });
    const probe = (mode) => {
      const load = mode === "import" ? `const m = await import(${JSON.stringify(specifier)});` : `const m = require(${JSON.stringify(specifier)});`;
      const body = `${load}
const names = Object.keys(m).filter((k) => k !== "default");
if (names.length === 0) throw new Error("no exports");
${subpath === "." ? `const { generateApiKey, parseApiKey, hashApiKey, createApiKeyAuth, MemoryKeyStore } = m;
const { key } = generateApiKey({ environment: "prod" });
if (!parseApiKey(key).ok || !hashApiKey(key).startsWith("sha256:")) throw new Error("core does not work");
const auth = createApiKeyAuth({ store: new MemoryKeyStore() });
auth.authenticate({ authorization: "Bearer " + key, method: "GET" }).then((r) => { if (r.ok || r.status !== 401) throw new Error("unknown key accepted"); });` : ""}
console.log(${JSON.stringify(mode)}, names.length, "exports");`;
      if (mode === "import") return run("node", ["--input-type=module", "-e", body], { cwd: dir });
      return run("node", ["--input-type=commonjs", "-e", `(async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`], { cwd: dir });
    };
    step(`import ${specifier}`, () => probe("import"));
    step(`require ${specifier}`, () => probe("require"));
    if (subpath === ".") {
      step("the fluenzr-keys bin runs from the installed package (npx)", () => {
        const version = run("npx", ["--no-install", "fluenzr-keys", "--version"], { cwd: dir }).trim();
        if (!version.includes(pkg.version)) throw new Error(`--version printed ${version}`);
        const generated = JSON.parse(run("npx", ["--no-install", "fluenzr-keys", "generate", "--json"], { cwd: dir }));
        const checked = run("npx", ["--no-install", "fluenzr-keys", "check", "-"], { cwd: dir, input: `${generated.key}\n` });
        if (checked.includes(generated.key)) throw new Error("check echoed the key");
        return `fluenzr-keys ${version}`;
      });
    }
    if (subpath === "./testing") {
      // The conformance suite as a user runs it: a vitest file importing the installed package.
      step("runKeyStoreConformance on MemoryKeyStore under vitest, from the tarball", () => {
        writeFileSync(
          join(dir, "store.test.mjs"),
          `import { MemoryKeyStore } from "@fluenzr/api-keys";
import { runKeyStoreConformance } from "@fluenzr/api-keys/testing";
runKeyStoreConformance("MemoryKeyStore (installed)", () => new MemoryKeyStore());
`,
        );
        const out = run("npx", ["vitest", "run", "--reporter=dot", "store.test.mjs"], { cwd: dir, env: { ...process.env, CI: "true" } });
        if (!/Tests\s+\S*\d+ passed/.test(out.replace(/\x1b\[[0-9;]*m/g, ""))) throw new Error(`no passing tests in:\n${out}`);
        return out.split("\n").filter((l) => /Tests/.test(l)).join("\n");
      });
      // Without vitest: the helpers still load (jest, node:test…), and the suite takes a runner passed in.
      const bare = mkdtempSync(join(work, "app-"));
      writeFileSync(join(bare, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
      step("install @fluenzr/api-keys alone (no vitest)", () => {
        run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", tarball], { cwd: bare });
      });
      const withoutVitest = (mode) => {
        const load = mode === "import" ? `const t = await import("@fluenzr/api-keys/testing"); const core = await import("@fluenzr/api-keys");` : `const t = require("@fluenzr/api-keys/testing"); const core = require("@fluenzr/api-keys");`;
        const body = `${load}
const clock = t.createFakeClock(1000); clock.advance(5); if (clock.now() !== 1005) throw new Error("fake clock");
const a = core.generateApiKey({ random: t.createSeededRandom(7) }).key, b = core.generateApiKey({ random: t.createSeededRandom(7) }).key;
if (a !== b) throw new Error("seeded random is not deterministic");
const tests = [];
t.runKeyStoreConformance("memory", () => new core.MemoryKeyStore(), { runner: { describe: (n, f) => f(), it: (n, f) => tests.push(f) } });
if (tests.length < 5) throw new Error("suite defined " + tests.length + " tests");
for (const test of tests) await test();
console.log(${JSON.stringify(mode)}, tests.length, "conformance tests passed without vitest");`;
        if (mode === "import") return run("node", ["--input-type=module", "-e", body], { cwd: bare });
        return run("node", ["--input-type=commonjs", "-e", `(async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`], { cwd: bare });
      };
      step("import @fluenzr/api-keys/testing without vitest installed", () => withoutVitest("import"));
      step("require @fluenzr/api-keys/testing without vitest installed", () => withoutVitest("require"));
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// The closing line of `npm test`: vitest's counts (left by test/support/summary-reporter.ts) plus these checks.
let unit = { passed: 0, failed: 0, skipped: 0, skippedSuites: [] };
try {
  const summary = join(root, "node_modules/.cache/fluenzr-test-summary.json");
  unit = JSON.parse(readFileSync(summary, "utf8"));
  rmSync(summary, { force: true }); // never count a stale run twice
} catch {
  // Run on its own (npm run test:package): only the package checks count.
}
if (unit.skippedSuites.length > 0) console.log(`\nskipped suites (set DATABASE_URL / REDIS_URL to run them):\n${unit.skippedSuites.map((s) => `  - ${s}`).join("\n")}`);
console.log(`\npackage check: ${checks - failures} passed, ${failures} failed`);
console.log(`total: ${unit.passed + checks - failures} passed, ${unit.failed + failures} failed, ${unit.skipped} skipped`);
if (failures > 0) process.exit(1);

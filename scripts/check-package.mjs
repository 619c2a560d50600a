// Package check, run by `npm test` after the build: pack the tarball the way npm publishes it, lint
// it (publint, @arethetypeswrong/cli for both `import` and `require`), then install it into fresh
// temporary projects — each with only the framework or client its subpath needs — and load every
// subpath with `import` and with `require`, and compile a strict TypeScript program against it
// (skipLibCheck off). Last, the core on other runtimes: a context without `process`, workerd
// (Cloudflare's Workers runtime) serving a bundled Worker over HTTP, Bun and Deno (all three from
// the npm registry) (DESIGN §2).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, posix, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";
import { consumerPrograms, coreFlow, honoServeScript, workerdWorker } from "./package-consumers.mjs";

const root = resolve(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const run = (cmd, args, options = {}) =>
  execFileSync(cmd, args, { cwd: root, stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"], encoding: "utf8", ...options });

const work = mkdtempSync(join(tmpdir(), "fluenzr-pack-"));
let failures = 0;
let checks = 0;
const report = (name, out) => console.log(`ok   ${name}${out ? `\n${out.trim().replace(/^/gm, "     ")}` : ""}`);
const fail = (name, error) => {
  failures++;
  console.log(`FAIL ${name}\n${String(error.stdout ?? "")}${String(error.stderr ?? "")}${error.stdout ? "" : error.message}`);
};
const stepAsync = async (name, fn) => {
  checks++;
  try {
    report(name, await fn());
  } catch (error) {
    fail(name, error);
  }
};
// Not a failure: what a check needs is missing here (a runtime that did not install).
const skip = (name, why) => console.log(`skip ${name}: ${why}`);
const step = (name, fn) => {
  checks++;
  try {
    report(name, fn());
  } catch (error) {
    fail(name, error);
  }
};

// A consumer's compile, skipLibCheck off, with the strictest options users turn on: the program of
// scripts/package-consumers.mjs as ES module (.mts) and as CommonJS (.cts) under NodeNext, and, with
// `node10`, once more under the old resolution that reaches subpaths through typesVersions.
const tsc = join(root, "node_modules/typescript/bin/tsc");
function typecheck(dir, subpath, { node10 = false } = {}) {
  const program = consumerPrograms[subpath];
  if (program === undefined) throw new Error(`no consumer program for ${subpath} (edit scripts/package-consumers.mjs)`);
  const compilerOptions = {
    strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false, noEmit: true,
    target: "ES2022", lib: program.lib, types: program.types, esModuleInterop: true,
  };
  writeFileSync(join(dir, "consumer.mts"), program.source);
  writeFileSync(join(dir, "consumer.cts"), program.source);
  const configs = [["tsconfig.json", { module: "NodeNext", moduleResolution: "NodeNext" }, ["consumer.mts", "consumer.cts"]]];
  if (node10) {
    writeFileSync(join(dir, "consumer-node10.ts"), program.source);
    configs.push(["tsconfig.node10.json", { module: "CommonJS", moduleResolution: "Node10" }, ["consumer-node10.ts"]]);
  }
  for (const [name, resolution, files] of configs) {
    writeFileSync(join(dir, name), JSON.stringify({ compilerOptions: { ...compilerOptions, ...resolution }, files }));
    run("node", [tsc, "-p", name], { cwd: dir });
  }
  return `${configs.map(([, r]) => `${r.module}/${r.moduleResolution}`).join(" and ")}, lib ${program.lib.join(", ")}, types [${program.types.join(", ")}]`;
}

// esbuild, from tsup: the bundler wrangler uses for Workers.
const loadEsbuild = async () => import(pathToFileURL(createRequire(join(root, "package.json")).resolve("esbuild")).href);

// workerd, in one process: `config.capnp` in `dir` names the services and sockets, each socket on
// 127.0.0.1:0; workerd reports the ports it got on a control descriptor (fd 3). Resolves to the
// port per socket name, with stop() (SIGKILL, so it cannot linger; also on Node's exit) and the
// output so far. Rejects if workerd exits or no port comes within the time limit.
function startWorkerd(bin, dir, socketNames) {
  const child = spawn(bin, ["serve", "config.capnp", "--control-fd=3"], { cwd: dir, stdio: ["ignore", "pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  const exited = new Promise((resolve) => child.once("close", resolve));
  const stop = async () => {
    process.removeListener("exit", kill);
    if (child.exitCode === null && child.signalCode === null) kill();
    await exited;
  };
  const server = { stop, output: () => output };
  return new Promise((resolve, reject) => {
    const ports = {};
    let control = "";
    let settled = false;
    const failed = async (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      await stop();
      reject(new Error(`${why}${output.trim() ? `:\n${output.trim()}` : ""}`));
    };
    const timer = setTimeout(() => failed(`workerd did not listen within 20 s (sockets so far: ${JSON.stringify(ports)})`), 20_000);
    child.once("error", (error) => failed(`workerd did not start (${error.message})`));
    child.once("exit", (code, signal) => failed(`workerd exited (${signal ?? `code ${code}`}) before listening`));
    child.stdio[3].on("data", (d) => {
      control += d;
      const lines = control.split("\n");
      control = lines.pop();
      for (const line of lines) {
        let event;
        try {
          event = JSON.parse(line);
        } catch {
          continue; // not a message this check knows
        }
        if (event.event === "listen") ports[event.socket] = event.port;
      }
      if (!settled && socketNames.every((name) => ports[name] !== undefined)) {
        settled = true;
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve({ ...server, ports });
      }
    });
  });
}

// What a Worker built from scripts/package-consumers.mjs (`workerdWorker`) answers over HTTP at
// `base`: GET /fixture (its keys, flow(core), typeof process) and /v1/me behind apiKeyAuth.
async function workerRequest(base, path, { method = "GET", key, timeoutMs = 10_000 } = {}) {
  let response, text;
  try {
    response = await fetch(base + path, {
      method,
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    throw new Error(`${method} ${path}: ${error.message}${error.cause ? ` (${error.cause.message ?? error.cause})` : ""}`);
  }
  if (response.status === 500) throw new Error(`${method} ${path}: 500 from the Worker\n${text}`);
  return { status: response.status, challenge: response.headers.get("www-authenticate"), text };
}
async function workerHttpChecks(base, keys) {
  const expect = (what, got, want) => {
    if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  };
  const unauthorized = '{"success":false,"error":{"code":"UNAUTHORIZED","message":"Invalid or missing API key"}}';
  const seen = [];
  let r = await workerRequest(base, "/v1/me", { key: keys.pro });
  expect("Pro key: status", r.status, 200);
  expect("Pro key: body", r.text, '{"accountId":"acc_pro"}');
  seen.push(`Pro key 200 ${r.text}`);
  r = await workerRequest(base, "/v1/me", { key: keys.readOnly });
  expect("read-only key GET: status", r.status, 200);
  seen.push("read-only GET 200");
  r = await workerRequest(base, "/v1/me");
  expect("no Authorization: status", r.status, 401);
  expect("no Authorization: body", r.text, unauthorized);
  expect("no Authorization: WWW-Authenticate", r.challenge, 'Bearer realm="api"');
  seen.push(`no header 401 ${r.text} WWW-Authenticate: ${r.challenge}`);
  // The Pro key with its last character changed: the checksum (its last 6) no longer matches.
  const tampered = keys.pro.slice(0, -1) + (keys.pro.endsWith("a") ? "b" : "a");
  r = await workerRequest(base, "/v1/me", { key: tampered });
  expect("bad checksum: status", r.status, 401);
  expect("bad checksum: body", r.text, unauthorized);
  expect("bad checksum: WWW-Authenticate", r.challenge, 'Bearer realm="api", error="invalid_token"');
  seen.push(`bad checksum 401 WWW-Authenticate: ${r.challenge}`);
  r = await workerRequest(base, "/v1/me", { key: keys.starter });
  expect("Starter key: status", r.status, 403);
  expect("Starter key: body", r.text, '{"success":false,"error":{"code":"FORBIDDEN","message":"API access requires Pro plan"}}');
  expect("Starter key: WWW-Authenticate", r.challenge, null);
  seen.push(`Starter key 403 ${JSON.parse(r.text).error.message}`);
  r = await workerRequest(base, "/v1/me", { method: "POST", key: keys.readOnly });
  expect("read-only key POST: status", r.status, 403);
  expect("read-only key POST: body", r.text, '{"success":false,"error":{"code":"FORBIDDEN","message":"API key does not have the required permissions"}}');
  expect("read-only key POST: WWW-Authenticate", r.challenge, 'Bearer realm="api", error="insufficient_scope"');
  seen.push(`read-only POST 403 WWW-Authenticate: ${r.challenge}`);
  r = await workerRequest(base, "/v1/me", { key: keys.revoked });
  expect("revoked key: status", r.status, 401);
  expect("revoked key: body", r.text, unauthorized);
  expect("revoked key: WWW-Authenticate", r.challenge, 'Bearer realm="api", error="invalid_token"');
  seen.push(`revoked 401 WWW-Authenticate: ${r.challenge}`);
  // Last used (interval 200 ms): the timer of the first request dies with it on Workers; a use
  // after the batch was due writes it, through waitUntil.
  await new Promise((resolve) => setTimeout(resolve, 400));
  r = await workerRequest(base, "/v1/me", { key: keys.pro });
  expect("Pro key again: status", r.status, 200);
  let lastUsedAt = null;
  for (let i = 0; i < 20 && lastUsedAt === null; i++) {
    lastUsedAt = JSON.parse((await workerRequest(base, "/usage")).text).lastUsedAt;
    if (lastUsedAt === null) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect("last used written (a key used twice, 400 ms apart)", typeof lastUsedAt, "string");
  seen.push(`last used written: ${lastUsedAt}`);
  // A hung store: a client that gives up mid-lookup, then one that waits, which gets the 503.
  const abandoned = await workerRequest(base, "/hung/me", { key: keys.pro, timeoutMs: 100 }).then(
    (res) => `answered ${res.status}`,
    () => "gave up",
  );
  expect("hung store, client gives up after 100 ms", abandoned, "gave up");
  const started = Date.now();
  r = await workerRequest(base, "/hung/me", { key: keys.pro, timeoutMs: 5_000 });
  const waited = Date.now() - started;
  expect("hung store: status", r.status, 503);
  expect("hung store: body", r.text, '{"success":false,"error":{"code":"SERVICE_UNAVAILABLE","message":"Authentication is temporarily unavailable"}}');
  seen.push(`hung store (limit 300 ms), after a client gave up: 503 in ${waited} ms`);
  return seen.join("\n");
}

// Workers for real (DESIGN §2): workerd, Cloudflare's runtime, from the npm registry (package
// `workerd`, its binary in the platform package @cloudflare/workerd-<os>-<arch>). The Worker of
// scripts/package-consumers.mjs, bundled in `dir` (the tarball and hono installed) as wrangler
// bundles one, is served twice by one workerd at the newest compatibility date it supports: with
// nodejs_compat turned off (Web APIs only, no `process`: the core hashes with @noble/hashes) and
// with that date's default flags, what a Worker made today gets (workerd 1.20261117 turns
// nodejs_compat on by default from 2026-08-04, and the core then hashes with node:crypto, through
// process.getBuiltinModule).
// Requests go from here, over HTTP; the digests must be the ones Node gives.
async function checkWorkerd(dir, expected) {
  const home = join(work, "workerd");
  mkdirSync(home);
  writeFileSync(join(home, "package.json"), JSON.stringify({ name: "workerd-runtime", version: "1.0.0", private: true }));
  try {
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", "workerd@^1"], { cwd: home });
  } catch (error) {
    return skip("workerd", `npm could not install it (${String(error.stderr ?? error.message).trim().split("\n").pop()})`);
  }
  // The package's bin is a Node launcher: run the binary itself, so stopping it stops workerd.
  const cloudflare = join(home, "node_modules/@cloudflare");
  const bin = (existsSync(cloudflare) ? readdirSync(cloudflare) : []).map((d) => join(cloudflare, d, "bin/workerd")).find((f) => existsSync(f));
  if (bin === undefined) return skip("workerd", "npm installed no binary for this platform (@cloudflare/workerd-<os>-<arch>)");
  let date;
  try {
    // "workerd 2026-11-17": the newest compatibility date it supports.
    date = run(bin, ["--version"]).match(/\d{4}-\d{2}-\d{2}/)?.[0];
    if (date === undefined) throw new Error("`workerd --version` printed no date");
  } catch (error) {
    return skip("workerd", `its binary does not run here (${String(error.stderr || error.message).trim().split("\n")[0]})`);
  }
  const version = `workerd ${JSON.parse(readFileSync(join(home, "node_modules/workerd/package.json"), "utf8")).version}`;

  let bundled = false;
  await stepAsync(`bundle a Worker importing ${pkg.name} and ${pkg.name}/hono as wrangler does (esbuild, ES module, conditions workerd, worker, browser)`, async () => {
    const esbuild = await loadEsbuild();
    const result = await esbuild.build({
      stdin: { contents: workerdWorker, resolveDir: dir, loader: "js", sourcefile: "worker.src.mjs" },
      bundle: true, write: false, metafile: true, format: "esm", platform: "neutral", target: "es2022",
      mainFields: ["browser", "module", "main"], conditions: ["workerd", "worker", "browser"], logLevel: "silent",
      external: ["cloudflare:*"], // the runtime's own modules, as wrangler leaves them
    });
    writeFileSync(join(home, "worker.mjs"), result.outputFiles[0].text);
    bundled = true;
    const packages = new Set(Object.keys(result.metafile.inputs).map((p) => p.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1]).filter(Boolean));
    return `${Math.round(result.outputFiles[0].contents.length / 1024)} KiB from ${[...packages].sort().join(", ")}`;
  });
  if (!bundled) return;

  const workers = [
    { name: "web", flags: ["no_nodejs_compat", "no_nodejs_compat_v2"], title: "nodejs_compat off (no_nodejs_compat, no_nodejs_compat_v2)" },
    { name: "today", flags: [], title: "that date's default flags" },
  ];
  const service = (w) => `(name = "${w.name}", worker = (
      modules = [(name = "worker.mjs", esModule = embed "worker.mjs")],
      compatibilityDate = "${date}",
      compatibilityFlags = [${w.flags.map((f) => JSON.stringify(f)).join(", ")}],
    ))`;
  writeFileSync(join(home, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    ${workers.map(service).join(",\n    ")},
  ],
  sockets = [
    ${workers.map((w) => `(name = "${w.name}", address = "127.0.0.1:0", http = (), service = "${w.name}")`).join(",\n    ")},
  ],
);
`);
  let server;
  await stepAsync(`${version} serves both Workers on 127.0.0.1 (compatibility date ${date})`, async () => {
    server = await startWorkerd(bin, home, workers.map((w) => w.name));
    return workers.map((w) => `${w.name}: port ${server.ports[w.name]}`).join(", ");
  });
  if (server === undefined) return;
  try {
    for (const w of workers) {
      const base = `http://127.0.0.1:${server.ports[w.name]}`;
      let keys;
      await stepAsync(`the core flow in a Worker on ${version}, ${w.title}, first request: same digests as Node`, async () => {
        const r = await workerRequest(base, "/fixture");
        const fixture = JSON.parse(r.text);
        if (w.flags.length > 0 && fixture.process !== "undefined") throw new Error(`the Worker has a process (${fixture.process}): nodejs_compat is still on`);
        const got = JSON.stringify(fixture.flow);
        if (got !== expected) throw new Error(`digests differ:\n  node: ${expected}\n  workerd: ${got}`);
        if (fixture.starterCreate !== "403 API access requires Pro plan") throw new Error(`creating a key for the Starter account: ${fixture.starterCreate}`);
        keys = fixture.keys;
        return `typeof process: ${fixture.process}; a new key for the Starter account: ${fixture.starterCreate}`;
      });
      if (keys === undefined) continue;
      await stepAsync(`${pkg.name}/hono in that Worker (${w.name}), over HTTP`, () => workerHttpChecks(base, keys));
    }
    const said = server.output().trim();
    if (said) console.log(`     workerd said:\n${said.replace(/^/gm, "       ")}`);
  } catch (error) {
    fail(`workerd (${version})`, error);
  } finally {
    await server.stop();
  }
}

// DESIGN §2: the core runs on Node, Bun, Deno and Workers. Bun and Deno come from the npm registry
// (packages `bun` and `deno` carry the binaries); where they do not install or run (no registry,
// an unsupported platform), their checks are skipped with the reason. Every runtime must give the
// digests Node gives.
async function checkRuntimes(dirs) {
  const bare = dirs.bare;
  if (bare === undefined) return skip("runtimes", "the project with the core alone was not set up");
  writeFileSync(join(bare, "flow.mjs"), `import * as core from "${pkg.name}";\n${coreFlow}\nconsole.log(JSON.stringify(await flow(core)));\n`);
  let expected;
  step("the core flow on Node (generate, hash, authenticate hit/miss/revoked, manager create/list/revoke)", () => {
    expected = run("node", ["flow.mjs"], { cwd: bare }).trim();
    return expected;
  });

  // Workers: a bundle (esbuild, as wrangler makes one) in a context with Web APIs only, no
  // `process`: Node's crypto is out of reach, so the digests come from @noble/hashes.
  await stepAsync("the core bundled and run without `process` (as on Workers): same digests as Node", async () => {
    const esbuild = await loadEsbuild();
    const bundle = await esbuild.build({
      stdin: { contents: `import * as core from "${pkg.name}"; globalThis.core = core;`, resolveDir: bare, loader: "js" },
      bundle: true, write: false, format: "iife", platform: "neutral", mainFields: ["module", "main"], conditions: ["worker", "import"], logLevel: "silent",
    });
    const web = { crypto: globalThis.crypto, TextEncoder, TextDecoder, console, setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask };
    const context = vm.createContext({ ...web });
    vm.runInContext(bundle.outputFiles[0].text, context);
    if (vm.runInContext("typeof process", context) !== "undefined") throw new Error("the context has a process");
    const got = JSON.stringify(await vm.runInContext(`${coreFlow}\nflow(globalThis.core)`, context));
    if (got !== expected) throw new Error(`digests differ:\n  node: ${expected}\n  here: ${got}`);
  });

  if (dirs["./hono"] === undefined) skip("workerd", `the project with ${pkg.name}/hono was not set up`);
  else await checkWorkerd(dirs["./hono"], expected);

  const runtimes = join(work, "runtimes");
  mkdirSync(runtimes);
  writeFileSync(join(runtimes, "package.json"), JSON.stringify({ name: "runtimes", version: "1.0.0", private: true }));
  try {
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", "bun@^1", "deno@^2"], { cwd: runtimes });
  } catch (error) {
    return skip("Bun and Deno", `npm could not install them (${String(error.stderr ?? error.message).trim().split("\n").pop()})`);
  }
  const env = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_DIR: join(runtimes, ".deno") };
  // With --ignore-scripts the `bun` package keeps a placeholder; the binary is in its platform package.
  const oven = join(runtimes, "node_modules/@oven");
  const bunBinaries = existsSync(oven) ? readdirSync(oven).map((d) => join(oven, d, "bin/bun")).filter((f) => existsSync(f)) : [];
  const engines = [
    ["Bun", bunBinaries[0] ?? join(runtimes, "node_modules/.bin/bun"), (file) => [file]],
    ["Deno", join(runtimes, "node_modules/.bin/deno"), (file, net) => ["run", "--no-prompt", ...(net ? ["--allow-net=127.0.0.1"] : []), file]],
  ];
  for (const [name, bin, args] of engines) {
    let version;
    try {
      version = `${name} ${run(bin, ["--version"], { env }).match(/\d+\.\d+\.\d+/)?.[0] ?? "(unknown version)"}`;
    } catch (error) {
      skip(name, `its binary does not run here (${String(error.message).split("\n")[0]})`);
      continue;
    }
    step(`the core flow on ${version} (installed package, ${name === "Deno" ? "no permissions" : "import"}): same digests as Node`, () => {
      const got = run(bin, args("flow.mjs", false), { cwd: bare, env }).trim();
      if (got !== expected) throw new Error(`digests differ:\n  node: ${expected}\n  ${name}: ${got}`);
    });
    if (dirs["./hono"] !== undefined) {
      step(`${pkg.name}/hono on ${version}, served by ${name}.serve, over HTTP`, () => {
        writeFileSync(join(dirs["./hono"], "serve.mjs"), honoServeScript);
        return run(bin, args("serve.mjs", true), { cwd: dirs["./hono"], env, timeout: 30_000 });
      });
    }
  }
}

try {
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work]));
  const tarball = join(work, packed[0].filename);
  console.log(`packed ${packed[0].filename}: ${packed[0].entryCount} files, ${packed[0].size} bytes`);
  const listed = packed[0].files.map((f) => f.path);
  step("tarball holds dist/, README.md, CHANGELOG.md and nothing from src/ or test/", () => {
    for (const must of ["README.md", "CHANGELOG.md", "package.json", "dist/index.js", "dist/index.cjs", "dist/index.d.ts"]) {
      if (!listed.includes(must)) throw new Error(`missing ${must}`);
    }
    const stray = listed.filter((p) => /^(src|test|bench|scripts|docs\/api)\//.test(p));
    if (stray.length) throw new Error(`unexpected files: ${stray.join(", ")}`);
  });

  step("every relative link of the packed README and guides leads to a file in the tarball (they are read in node_modules and on npm)", () => {
    const documents = listed.filter((p) => p.endsWith(".md"));
    if (!listed.includes("LICENSE") || !listed.includes("docs/authenticator.md")) throw new Error("missing LICENSE or docs/");
    const dead = [];
    for (const doc of documents) {
      const text = readFileSync(join(root, doc), "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
        const path = posix.normalize(posix.join(posix.dirname(doc), target.split("#")[0]));
        if (!listed.includes(path) && !listed.some((p) => p.startsWith(`${path.replace(/\/$/, "")}/`))) dead.push(`${doc} → ${target}`);
      }
    }
    if (dead.length) throw new Error(`links to files not in the package: ${dead.join("; ")}`);
  });

  // What a built file loads from outside dist/, following its imports of shared chunks (code that
  // several subpaths use is built once, into dist/chunk-*.js and *.cjs).
  const packagesLoadedBy = (file, seen = new Set()) => {
    if (seen.has(file)) return new Set();
    seen.add(file);
    const text = readFileSync(join(root, file), "utf8");
    const found = new Set();
    for (const [, spec] of text.matchAll(/(?:from\s*|import\s*|require\()\s*["']([^"']+)["']/g)) {
      if (spec.startsWith(".")) for (const p of packagesLoadedBy(posix.join(posix.dirname(file), spec), seen)) found.add(p);
      else found.add(spec);
    }
    return found;
  };
  step("the core bundle (with its shared chunks) imports only @noble/hashes and zod (no node: module, no framework, no database client)", () => {
    for (const file of ["dist/index.js", "dist/index.cjs"]) {
      const stray = [...packagesLoadedBy(file)].filter((s) => !s.startsWith("@noble/hashes/") && s !== "zod");
      if (stray.length) throw new Error(`${file} loads ${stray.join(", ")}`);
    }
  });
  step("each adapter (with its shared chunks) loads its own framework and no other", () => {
    const own = { express: ["express"], fastify: ["fastify"], hono: ["hono"] };
    const lines = [];
    for (const [name, allowed] of Object.entries(own)) {
      for (const file of [`dist/${name}/index.js`, `dist/${name}/index.cjs`]) {
        const loaded = [...packagesLoadedBy(file)];
        const stray = loaded.filter((s) => !s.startsWith("@noble/hashes/") && s !== "zod" && !allowed.some((a) => s === a || s.startsWith(`${a}/`)));
        if (stray.length) throw new Error(`${file} loads ${stray.join(", ")}`);
        lines.push(`${file}: ${loaded.sort().join(", ") || "(nothing outside the package)"}`);
      }
    }
    return lines.join("\n");
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
  const dirs = {}; // subpath -> its consumer project, and `bare`: the core alone
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
    const typePackages = consumerPrograms[subpath]?.typePackages ?? [];
    step(`install ${specifier} with ${[...extra, ...typePackages].join(", ") || "no framework"}`, () => {
      run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", tarball, ...[...extra, ...typePackages].map((n) => `${n}@${version(n)}`)], { cwd: dir });
    });
    dirs[subpath] = dir;
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
    // One copy of the package has one ApiKeyError: what a subpath throws is \`instanceof\` the class
    // the core exports (in each module system; across the two, isApiKeyError is the test).
    const throwing = {
      ".": `m.createApiKeyAuth({ store: new m.MemoryKeyStore(), nope: 1 })`,
      "./testing": `m.runKeyStoreConformance("x", () => null, { runner: 1 })`,
      "./express": `m.apiKeyAuth(null)`,
      "./fastify": `const app = (await import("fastify")).default(); app.register(m.apiKeyAuth, {}); await app.ready()`,
      "./hono": `m.apiKeyAuth(null)`,
      "./postgres": `new m.PostgresKeyStore({})`,
      "./redis": `new m.RedisKeyStore({})`,
    }[subpath];
    for (const mode of ["import", "require"]) {
      step(`${mode}: an error thrown by ${specifier} is instanceof the core's ApiKeyError`, () => {
        const load = mode === "import"
          ? `const m = await import(${JSON.stringify(specifier)}); const core = await import(${JSON.stringify(pkg.name)});`
          : `const m = require(${JSON.stringify(specifier)}); const core = require(${JSON.stringify(pkg.name)});`;
        const body = `${load}
let caught; try { ${throwing}; } catch (e) { caught = e; }
if (!core.isApiKeyError(caught)) throw new Error("not an ApiKeyError: " + caught);
if (!(caught instanceof core.ApiKeyError)) throw new Error("an ApiKeyError of another class: " + caught.code);
console.log(${JSON.stringify(mode)}, caught.code, "instanceof ApiKeyError");`;
        if (mode === "import") return run("node", ["--input-type=module", "-e", body], { cwd: dir });
        return run("node", ["--input-type=commonjs", "-e", `(async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`], { cwd: dir });
      });
    }
    // /testing is compiled below, in the project without vitest.
    if (subpath !== "./testing") {
      step(`tsc: a strict TypeScript consumer of ${specifier} with ${[...extra, ...typePackages].join(", ") || "nothing else installed"}`, () =>
        typecheck(dir, subpath, { node10: subpath === "." }),
      );
    }
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
      // The case that must hold: a project with the core alone compiles /testing with skipLibCheck
      // off, so no declaration may name vitest (nor a framework, nor Node or DOM types).
      step("tsc: a strict TypeScript consumer of the core and /testing with nothing else installed (no vitest, no @types/node, no DOM)", () =>
        typecheck(bare, "./testing", { node10: true }),
      );
      dirs.bare = bare;
    }
  }

  // Express 4 (the peer range is ^4.21 || ^5; the loop above installs 5): loads and types the same.
  const express4 = mkdtempSync(join(work, "app-"));
  writeFileSync(join(express4, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
  step(`install ${pkg.name}/express with express@${version("express4")} and @types/express@^4`, () => {
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", tarball, `express@${version("express4")}`, "@types/express@^4"], { cwd: express4 });
  });
  step(`import and require ${pkg.name}/express with Express 4`, () => {
    const check = `if (typeof m.apiKeyAuth !== "function") throw new Error("no apiKeyAuth");`;
    run("node", ["--input-type=module", "-e", `const m = await import("${pkg.name}/express"); ${check}`], { cwd: express4 });
    const body = `const m = require("${pkg.name}/express"); ${check}
const { version } = require("express/package.json"); if (!version.startsWith("4.")) throw new Error("express " + version); console.log("express", version);`;
    return run("node", ["--input-type=commonjs", "-e", body], { cwd: express4 });
  });
  step(`tsc: a strict TypeScript consumer of ${pkg.name}/express with express@4 and @types/express@4`, () => typecheck(express4, "./express"));

  await checkRuntimes(dirs);
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

/**
 * Smoke tests of what a newcomer runs first (issue 3): each example server starts, prints its key
 * once and answers 200/201/401; `npm run demo --self-check` passes on every framework.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const FRAMEWORKS = ["express", "fastify", "hono"] as const;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGTERM");
});

/** Run a TypeScript file with tsx in one Node process (so killing it stops everything). */
function run(file: string, args: string[] = []): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function waitFor(output: () => string, pattern: RegExp, ms = 20_000): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = pattern.exec(output());
    if (m !== null) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}; output:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(FRAMEWORKS)("examples/%s/server.ts", (framework) => {
  it("starts, prints its key once, and serves the protected API", async () => {
    const { output } = run(`examples/${framework}/server.ts`);
    const [, url] = await waitFor(output, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const [, key] = await waitFor(output, /API key \(shown once\): (flz_sk_\S+)/);
    expect(output().split(key as string).length - 1).toBe(2); // the key line and the curl line
    const auth = { authorization: `Bearer ${key}` };
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/v1/contacts`)).status).toBe(401);
    const created = await fetch(`${url}/v1/contacts`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ name: "Ada" }),
    });
    expect(created.status).toBe(201);
    const listed = await fetch(`${url}/v1/contacts`, { headers: auth });
    expect(await listed.json()).toEqual({ success: true, data: [{ id: 1, name: "Ada", email: null }] });
  }, 30_000);
});

describe.each(FRAMEWORKS)("npm run demo -- --framework %s", (framework) => {
  it("answers 200, 401, 403 (plan) and 403 (read-only write) as its guide says", async () => {
    const { output, exited } = run("scripts/demo.ts", ["--framework", framework, "--port", "0", "--self-check"]);
    expect(await exited, output()).toBe(0);
    const text = output();
    expect(text).not.toContain("FAIL");
    expect(text.match(/^ok {3}/gm)?.length).toBe(8);
    expect(text).toContain("403 plan");
    expect(text).toContain("403 permission");
  }, 30_000);
});

describe("npm run demo keeps its keys in PGlite across restarts (issue 5)", () => {
  it("a restarted demo still accepts the first run's key, lists it by hint, and --new-key prints one more", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dataDir = mkdtempSync(join(tmpdir(), "fluenzr-demo-test-"));
    try {
      const first = run("scripts/demo.ts", ["--port", "0", "--data-dir", dataDir]);
      const [, key] = await waitFor(first.output, /export PRO_KEY=(flz_sk_\S+)/);
      await waitFor(first.output, /API on (http:\/\/127\.0\.0\.1:\d+)/);
      first.child.kill("SIGTERM");
      expect(await first.exited).toBe(0);

      const second = run("scripts/demo.ts", ["--port", "0", "--data-dir", dataDir, "--new-key"]);
      const [, url] = await waitFor(second.output, /API on (http:\/\/127\.0\.0\.1:\d+)/);
      await waitFor(second.output, /survived the restart/);
      const [, fresh] = await waitFor(second.output, /A new Pro key, shown only this once:\s+export PRO_KEY=(flz_sk_\S+)/);
      expect(second.output()).toContain(`flz_sk_prod_…${(key as string).slice(-4)}`);
      expect(second.output()).not.toContain(key as string); // never shown again
      for (const k of [key, fresh]) {
        expect((await fetch(`${url}/v1/contacts`, { headers: { authorization: `Bearer ${k}` } })).status).toBe(200);
      }
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

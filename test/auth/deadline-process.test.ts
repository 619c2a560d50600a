// The time limits in a process of their own: a hung store gives 503 to a script's top-level await,
// and the limit's ticker holds the process only while something is pending.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

describe("time limits in a short script", () => {
  it("a top-level authenticate on a store that never answers gets 503, and the process then exits", () => {
    const script = fileURLToPath(new URL("./fixtures/hanging-store-script.ts", import.meta.url));
    const started = Date.now();
    const run = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 20_000 });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("503 unavailable");
    // Exit code 13 would be Node's "unsettled top-level await": the limit never fired.
    expect(run.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

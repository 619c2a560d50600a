// `fluenzr-keys check` (issue 6): valid or not and the parser's reason, exit 0/1, never echoing the key.
import { beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/index.js";
import { createSeededRandom } from "../../src/testing/index.js";
import { ensureCliBuilt, runCli } from "./cli-process.js";

beforeAll(ensureCliBuilt);

const random = createSeededRandom("cli-check");
const { key, hint } = generateApiKey({ environment: "prod", random });
const body = key.slice("flz_sk_prod_".length);
// Any 8 characters of the body in the output would be an echo of the key.
function expectNoEcho(output: string): void {
  for (let i = 0; i + 8 <= body.length; i++) expect(output).not.toContain(body.slice(i, i + 8));
}
const swapCase = (c: string): string => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());

describe("fluenzr-keys check", () => {
  it("a valid key given as an argument: exit 0, its hint and environment, not the key", () => {
    const run = runCli(["check", key]);
    expect(run).toEqual({ code: 0, stdout: `valid: ${hint} (environment: prod)\n`, stderr: "" });
  });

  it("reads the key from stdin when no argument or '-' is given (one trailing newline allowed)", () => {
    for (const [args, input] of [[["check"], `${key}\n`], [["check", "-"], key], [["check"], `${key}\r\n`]] as const) {
      const run = runCli(args, { input });
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`valid: ${hint} (environment: prod)\n`);
    }
  });

  it.each([
    ["checksum", `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`, "the last 6 characters are not the checksum"],
    ["checksum", key.slice(0, 20) + swapCase(key.charAt(20)) + key.slice(21), "the last 6 characters are not the checksum"],
    ["prefix", key.replace("flz_sk_", "FLZ_SK_"), 'does not start with "flz_sk_"'],
    ["environment", key.replace("_prod_", "_test_"), "environment tag is not one of prod, stag, dev"],
    ["length", key.slice(0, -1), "not exactly 32 characters"],
    ["charset", `${key.slice(0, 30)} ${key.slice(31)}`, "characters outside A-Z, a-z, 0-9"],
  ])("an invalid key exits 1 with the parser's reason (%s) and no echo", (reason, input, message) => {
    const run = runCli(["check"], { input });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`invalid (${reason}): `);
    expect(run.stdout).toContain(message);
    expectNoEcho(run.stdout + run.stderr);
  });

  it("--json gives the reason code for scripts", () => {
    const bad = runCli(["check", "--json"], { input: key.slice(0, -1) });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ valid: false, reason: "length" });
    const good = runCli(["check", "--json", key]);
    expect(JSON.parse(good.stdout)).toEqual({ valid: true, hint, environment: "prod" });
  });

  it("empty stdin, several lines, or two arguments are usage errors (exit 2), still without echo", () => {
    expect(runCli(["check"], { input: "" })).toMatchObject({ code: 2, stdout: "" });
    const lines = runCli(["check"], { input: `${key}\n${key}\n` });
    expect(lines.code).toBe(2);
    expect(lines.stderr).toContain("more than one line");
    const two = runCli(["check", key, key]);
    expect(two.code).toBe(2);
    expectNoEcho(lines.stderr + two.stderr + two.stdout);
  });
});

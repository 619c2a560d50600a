/**
 * DESIGN §2: frameworks are optional peers; the core never loads an adapter, and importing one
 * adapter loads no other framework. Checked on the import statements of the sources (what tsup
 * bundles, with the frameworks kept external).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "../../src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Module specifiers a file imports or re-exports (type-only ones included). */
function specifiers(path: string): string[] {
  // Comments are dropped first: doc examples show imports of the public package.
  const text = readFileSync(path, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...text.matchAll(/(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g)].map(
    (m) => (m[1] ?? m[2]) as string,
  );
}

const FRAMEWORKS = /^(express|fastify|fastify-plugin|hono|@hono\/.*)(\/|$)/;

describe("module boundaries", () => {
  it("the core imports no adapter and no framework", () => {
    const core = files(SRC).filter((f) => !relative(SRC, f).startsWith("adapters"));
    expect(core.length).toBeGreaterThan(5);
    for (const file of core) {
      for (const spec of specifiers(file)) {
        expect(spec, `${relative(SRC, file)} imports ${spec}`).not.toMatch(/adapters\//);
        expect(spec, `${relative(SRC, file)} imports ${spec}`).not.toMatch(FRAMEWORKS);
      }
    }
  });

  it.each([
    ["express", ["express"]],
    ["fastify", ["fastify", "fastify-plugin"]],
    ["hono", ["hono"]],
  ] as const)("the %s adapter loads only its own framework", (name, allowed) => {
    const own = files(join(SRC, "adapters", name));
    const shared = files(join(SRC, "adapters", "shared"));
    for (const file of [...own, ...shared]) {
      for (const spec of specifiers(file)) {
        if (spec.startsWith(".")) {
          // Relative imports stay in this adapter, the shared helpers, or the core.
          expect(spec, `${relative(SRC, file)} imports ${spec}`).not.toMatch(/adapters\/(?!shared)|\.\.\/(express|fastify|hono)\//);
          continue;
        }
        expect(allowed as readonly string[], `${relative(SRC, file)} imports ${spec}`).toContain(spec);
      }
    }
  });
});

/**
 * STYLE/issue rule: every public export (function, class, constant, type) has a doc comment with
 * an example. Read with the TypeScript compiler from each public
 * entry point, so a comment that drifted away from its declaration counts as missing.
 */
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const ENTRIES = [
  "src/index.ts",
  "src/testing/index.ts",
  "src/adapters/express/index.ts",
  "src/adapters/fastify/index.ts",
  "src/adapters/hono/index.ts",
  "src/stores/postgres/index.ts",
  "src/stores/redis/index.ts",
];

const program = ts.createProgram(
  ENTRIES.map((e) => join(ROOT, e)),
  { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true },
);
const checker = program.getTypeChecker();

function problems(entry: string): string[] {
  const file = program.getSourceFile(join(ROOT, entry));
  if (file === undefined) return [`${entry}: not found`];
  const moduleSymbol = checker.getSymbolAtLocation(file);
  if (moduleSymbol === undefined) return [`${entry}: no module symbol`];
  const out: string[] = [];
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaration = symbol.declarations?.[0];
    if (declaration === undefined) continue;
    const docs = symbol.getDocumentationComment(checker);
    const hasExample = symbol.getJsDocTags(checker).some((t) => t.name === "example");
    if (docs.length === 0) out.push(`${entry}: ${exported.name} has no doc comment`);
    else if (!hasExample) out.push(`${entry}: ${exported.name} has no @example`);
  }
  return out;
}

describe("public exports are documented", () => {
  it.each(ENTRIES)("%s: a doc comment with an example on every export", (entry) => {
    expect(problems(entry)).toEqual([]);
  });
});

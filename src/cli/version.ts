/**
 * The package version for `--version`, read from package.json next to the built file.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "@fluenzr/api-keys";

/**
 * The version from the nearest `@fluenzr/api-keys` package.json above this file (dist/cli.js in
 * the package, src/cli/ when run from source).
 *
 * @example
 * ```ts
 * readPackageVersion(); // "0.1.0"
 * ```
 */
export function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === "string") return pkg.version;
    } catch {
      // no package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}

import { fileURLToPath } from "node:url";
import { defineConfig, type Options } from "tsup";

// vitest cannot be require()d: the CommonJS build of /testing takes describe/it from test globals.
const cjsTestRunner: NonNullable<Options["esbuildPlugins"]>[number] = {
  name: "cjs-test-runner",
  setup(build) {
    // tsup runs esbuild in ESM format for both builds and converts afterwards; the output extension tells them apart.
    if (build.initialOptions.outExtension?.[".js"] !== ".cjs") return;
    build.onResolve({ filter: /\/test-runner\.js$/ }, () => ({
      path: fileURLToPath(new URL("./src/testing/test-runner-cjs.ts", import.meta.url)),
    }));
  },
};

// The `fluenzr-keys` command (package.json "bin"): one ESM file for Node with a shebang, built
// beside the library. It never cleans, and the library's clean spares it: the two builds run at once.
const cliConfig: Options = {
  name: "cli",
  entry: { cli: "src/cli/main.ts" },
  format: ["esm"],
  dts: false,
  clean: false,
  sourcemap: false,
  target: "node20",
  platform: "node",
  splitting: false,
  treeshake: true,
  banner: { js: "#!/usr/bin/env node" },
};

// One entry per public subpath (DESIGN §2). Adapters and stores are added as they land.
export default defineConfig([{
  entry: {
    index: "src/index.ts",
    "testing/index": "src/testing/index.ts",
    "express/index": "src/adapters/express/index.ts",
    "fastify/index": "src/adapters/fastify/index.ts",
    "hono/index": "src/adapters/hono/index.ts",
    "postgres/index": "src/stores/postgres/index.ts",
    "redis/index": "src/stores/redis/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  clean: ["!cli.js"], // everything but the CLI (cliConfig)
  sourcemap: true,
  target: "node20",
  platform: "neutral",
  // Code every subpath uses (ApiKeyError, the key format, the stores' record checks) lives in
  // shared chunks, once per format: an error thrown by /postgres is `instanceof` the ApiKeyError
  // that `@fluenzr/api-keys` exports, as one copy of the package promises.
  splitting: true,
  esbuildPlugins: [cjsTestRunner],
  treeshake: true,
  external: [/^node:/, "vitest", "express", "fastify", /^hono(\/|$)/, "pg", "ioredis", /^@electric-sql\/pglite(\/|$)/],
  // fastify-plugin (MIT) is built into the Fastify adapter, so the package's runtime dependencies
  // stay @noble/hashes and zod (DESIGN §2); its licence ships beside it (see onSuccess).
  noExternal: ["fastify-plugin"],
  esbuildOptions(options) {
    options.mainFields = ["module", "main"]; // the neutral platform has none; fastify-plugin has "main"
  },
  async onSuccess() {
    const { copyFileSync } = await import("node:fs");
    copyFileSync("node_modules/fastify-plugin/LICENSE", "dist/fastify/fastify-plugin.LICENSE");
  },
}, cliConfig]);

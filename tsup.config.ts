import { defineConfig } from "tsup";

// One entry per public subpath (DESIGN §2). Adapters and stores are added as they land.
export default defineConfig({
  entry: {
    index: "src/index.ts",
    "testing/index": "src/testing/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  platform: "neutral",
  splitting: false,
  treeshake: true,
  external: [/^node:/, "vitest"],
});

/**
 * The `fluenzr-keys` executable (built to dist/cli.js with a `#!/usr/bin/env node` line).
 * Uses node: modules, unlike the core.
 *
 * @module
 */
import { processIo } from "./io.js";
import { runCli } from "./run-cli.js";

// `fluenzr-keys scan | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), processIo());

/**
 * The `fluenzr-keys` executable (built to dist/cli.js with a `#!/usr/bin/env node` line).
 * Uses node: modules, unlike the core.
 *
 * @module
 */
import { processIo } from "./io.js";
import { runCli } from "./run-cli.js";

const io = processIo();

process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  // `fluenzr-keys scan --staged | head` closes the pipe early. The command goes on without
  // writing, so its exit code still says what it found: a hook or CI step that pipes the report
  // must still fail on a key (exiting with "nothing found" here would let it through).
  if (error.code === "EPIPE") {
    io.closeOut();
    return;
  }
  // Any other write error (a full disk, a broken terminal): the output is lost, which must not
  // read as "key valid" (0) or "key found / not a key" (1).
  process.stderr.write(`fluenzr-keys: cannot write the output (${String(error.code ?? error.message)})\n`);
  process.exit(2);
});

process.exitCode = await runCli(process.argv.slice(2), io);

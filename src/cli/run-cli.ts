/**
 * `fluenzr-keys`: dispatch to a subcommand, print help and version, turn errors into exit codes.
 *
 * @module
 */
import { parseArgs } from "./args.js";
import { commandHelp, flagsOf, type CliCommand } from "./command.js";
import { checkCommand } from "./commands/check.js";
import { generateCommand } from "./commands/generate.js";
import { hashCommand } from "./commands/hash.js";
import { scanCommand } from "./commands/scan.js";
import type { CliIo } from "./io.js";
import { quoteArgument } from "./redact.js";
import { USAGE_EXIT_CODE, UsageError } from "./usage-error.js";
import { readPackageVersion } from "./version.js";

/** The subcommands, in the order the help lists them. */
export const COMMANDS: readonly CliCommand[] = [generateCommand, checkCommand, hashCommand, scanCommand];

function overallHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "fluenzr-keys: generate, check and hash @fluenzr/api-keys keys, and scan for leaked ones.",
    "",
    "Usage:",
    "  fluenzr-keys <command> [options]",
    "  fluenzr-keys <command> --help",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Options:",
    "  -h, --help     show this help",
    "  -v, --version  print the version",
    "",
    "Every command takes --prefix, --type, --environments and --no-checksum for keys of a",
    "custom defineKeyFormat(...) (default: flz_sk_ with prod, stag, dev and a checksum).",
    "",
    "Exit codes: 0 success, 1 a key was found (scan) or is invalid (check, hash), 2 usage error.",
    "A plaintext key is printed only by generate; every other command shows hints only.",
    "",
  ].join("\n");
}

function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(overallHelp());
    return USAGE_EXIT_CODE;
  }
  if (first === "--help" || first === "-h") {
    io.out(overallHelp());
    return 0;
  }
  if (first === "--version" || first === "-v") {
    io.out(`${readPackageVersion()}\n`);
    return 0;
  }
  if (first === "help") {
    const topic = rest[0] === undefined ? undefined : COMMANDS.find((c) => c.name === rest[0]);
    if (rest[0] !== undefined && topic === undefined) throw new UsageError(`no help for unknown command ${quoteArgument(rest[0])}`);
    io.out(topic === undefined ? overallHelp() : commandHelp(topic));
    return 0;
  }
  if (first.startsWith("-")) throw new UsageError(`unknown option ${quoteArgument(first)}; options go after the command`);
  const command = COMMANDS.find((c) => c.name === first);
  if (command === undefined) {
    throw new UsageError(`unknown command ${quoteArgument(first)}; commands: ${COMMANDS.map((c) => c.name).join(", ")}`);
  }
  if (wantsHelp(rest)) {
    io.out(commandHelp(command));
    return 0;
  }
  return command.run(parseArgs(rest, flagsOf(command), command.name), io);
}

/**
 * Run the command line `argv` (without `node` and the script) and resolve to the exit code.
 * Usage errors print one line naming the problem and exit 2.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), processIo());
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const help = error.command === undefined ? "fluenzr-keys --help" : `fluenzr-keys ${error.command} --help`;
      io.err(`fluenzr-keys: ${error.message}\nRun "${help}" for usage.\n`);
      return USAGE_EXIT_CODE;
    }
    io.err(`fluenzr-keys: ${error instanceof Error ? error.message : String(error)}\n`);
    return USAGE_EXIT_CODE;
  }
}

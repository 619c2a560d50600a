/**
 * The shape of a subcommand, and its `--help` text built from its flags.
 *
 * @module
 */
import { HELP_FLAG, type FlagSpec, type ParsedArgs } from "./args.js";
import type { CliIo } from "./io.js";

/** One `fluenzr-keys <name>` subcommand. */
export interface CliCommand {
  readonly name: string;
  /** One line for the overall help. */
  readonly summary: string;
  /** Usage lines, e.g. `fluenzr-keys check [<key> | -]`. */
  readonly usage: readonly string[];
  /** Paragraphs after the options: behaviour, exit codes, examples. */
  readonly details: string;
  /** Flags besides `--help`. */
  readonly flags: readonly FlagSpec[];
  /** Run with parsed arguments; resolves to the exit code. */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/** All flags of a command, `--help` included. */
export function flagsOf(command: CliCommand): readonly FlagSpec[] {
  return [...command.flags, HELP_FLAG];
}

/**
 * The `--help` text of a command.
 *
 * @example
 * ```ts
 * io.out(commandHelp(scanCommand));
 * ```
 */
export function commandHelp(command: CliCommand): string {
  const rows = flagsOf(command).map((f) => {
    const names = `${f.short ? `-${f.short}, ` : "    "}--${f.name}${f.value ? ` ${f.placeholder ?? (f.choices ? f.choices.join("|") : "VALUE")}` : ""}`;
    return [names, f.description] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length));
  return [
    `${command.summary}`,
    "",
    "Usage:",
    ...command.usage.map((u) => `  ${u}`),
    "",
    "Options:",
    ...rows.map(([n, d]) => `  ${n.padEnd(width)}  ${d}`),
    "",
    command.details.trimEnd(),
    "",
  ].join("\n");
}

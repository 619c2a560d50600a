/**
 * A small, strict command-line parser: known flags only, values checked, messages that name the
 * flag. (node:util parseArgs would do, but its messages repeat the raw argument, which may be a key.)
 *
 * @module
 */
import { quoteArgument } from "./redact.js";
import { UsageError } from "./usage-error.js";

/** One flag a command accepts. */
export interface FlagSpec {
  /** Long name without dashes, e.g. `"env"` for `--env`. */
  readonly name: string;
  /** One-letter alias without the dash, e.g. `"h"`. */
  readonly short?: string;
  /** The flag takes a value (`--env prod` or `--env=prod`); otherwise it is a switch. */
  readonly value?: boolean;
  /** Allowed values, checked here so the message can list them. */
  readonly choices?: readonly string[];
  /** Shown in `--help`. */
  readonly description: string;
  /** Placeholder of the value in `--help`, e.g. `NAME`. */
  readonly placeholder?: string;
}

/** The parsed command line of one command. */
export interface ParsedArgs {
  /** Values of flags with values, by long name. */
  readonly values: ReadonlyMap<string, string>;
  /** Switches that were given, by long name. */
  readonly switches: ReadonlySet<string>;
  /** Everything else, in order (`-` stays a positional: it means stdin). */
  readonly positionals: readonly string[];
}

/** The flags every command accepts. */
export const HELP_FLAG: FlagSpec = { name: "help", short: "h", description: "show this help" };

/**
 * Parse `argv` against the flags of `command`; unknown flags and bad values throw a UsageError
 * naming the flag.
 *
 * @example
 * ```ts
 * parseArgs(["--env", "prod", "--json"], GENERATE_FLAGS, "generate");
 * // { values: Map { "env" => "prod" }, switches: Set { "json" }, positionals: [] }
 * ```
 */
export function parseArgs(argv: readonly string[], flags: readonly FlagSpec[], command: string): ParsedArgs {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  const positionals: string[] = [];
  const byLong = new Map(flags.map((f) => [f.name, f]));
  const byShort = new Map(flags.filter((f) => f.short !== undefined).map((f) => [f.short as string, f]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const spec = name.startsWith("--") ? byLong.get(name.slice(2)) : byShort.get(name.slice(1));
    if (spec === undefined) {
      throw new UsageError(`unknown option ${quoteArgument(name)} for "${command}"`, command);
    }
    const shown = `--${spec.name}`;
    if (!spec.value) {
      if (eq !== -1) throw new UsageError(`option "${shown}" takes no value`, command);
      switches.add(spec.name);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || value === "" || (eq === -1 && value.startsWith("-") && value !== "-")) {
      throw new UsageError(`option "${shown}" needs a value${spec.placeholder ? ` (${spec.placeholder})` : ""}`, command);
    }
    if (spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(`option "${shown}" must be one of ${spec.choices.join(", ")}; got ${quoteArgument(value)}`, command);
    }
    if (values.has(spec.name)) throw new UsageError(`option "${shown}" given twice`, command);
    values.set(spec.name, value);
  }
  return { values, switches, positionals };
}

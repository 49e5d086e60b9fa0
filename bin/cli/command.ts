import type { FlagSpec, ParsedFlags } from './flags.js';
import type { Reporter, ReporterOptions } from './reporter.js';

/** Where a command reads and writes: the process's, or a test's. */
export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface CommandContext {
  io: CliIo;
  /** Status lines on stderr, in the format --log-format asked for. */
  reporter: Reporter;
  /** That format and --verbose, for a command that reports through a stream of its own. */
  reporterOptions: Omit<ReporterOptions, 'stream'>;
}

/** One `rsession-proxy <name>`: its flags, its --help, and what it does (its exit code). */
export interface Command {
  readonly name: string;
  readonly flags: FlagSpec;
  readonly help: string;
  run(flags: ParsedFlags, context: CommandContext): Promise<number>;
}

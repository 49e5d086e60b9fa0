#!/usr/bin/env node
import { main } from './cli/main.js';

// http-proxy 1.18.1, the proxy engine, calls util._extend for every request; Node.js 22 and
// later deprecate it (DEP0060) with a warning on the first request that the command's users can
// do nothing about. Only that warning is dropped: every other one still prints.
silenceWarning('DEP0060');

process.exit(
  await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  }),
);

// Node.js prints a warning from inside process.emitWarning, whose code is its third argument
// (`emitWarning(message, type, code)`) or the `code` of its options object or Error.
function silenceWarning(code: string): void {
  const emitWarning = process.emitWarning.bind(process);
  const filtered = (...args: unknown[]) => {
    const [warning, typeOrOptions, codeArgument] = args;
    const given =
      typeof typeOrOptions === 'object' && typeOrOptions !== null
        ? (typeOrOptions as { code?: unknown }).code
        : warning instanceof Error
          ? (warning as NodeJS.ErrnoException).code
          : codeArgument;
    if (given !== code) Reflect.apply(emitWarning, process, args);
  };
  process.emitWarning = filtered;
}

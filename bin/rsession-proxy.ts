#!/usr/bin/env node
const argv = process.argv.slice(2);

// http-proxy 1.18.1, the proxy engine, calls util._extend for every request; Node.js 22 and
// later deprecate it (DEP0060) with a warning on the first request that the command's users can
// do nothing about. Only that warning is dropped: every other one still prints.
silenceWarning('DEP0060');

// The relay, which a Slurm job step starts for every backend connection, loads only itself
// (bin/cli/relay.ts); every other command loads the CLI and the library.
process.exit(
  argv[0] === 'relay'
    ? await (await import('./cli/relay.js')).runRelayCommand(argv.slice(1), process)
    : await (
        await import('./cli/main.js')
      ).main(argv, {
        stdin: process.stdin,
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

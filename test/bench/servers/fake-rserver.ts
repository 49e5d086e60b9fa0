// A stand-in rserver for the benchmarks: it takes rserver's command line as the launcher builds
// it, and serves the bench backend on --www-socket. `serve` is then measured in front of the
// same fast backend as every other contender, through its real supervisor and launcher; nothing
// in lib/ knows about it. It answers --help (the options the launcher looks for) and --version,
// and ignores every other option. SIGTERM ends it (the default action), as the launcher expects.
import { announce, listenOn } from './announce.js';
import { createBenchBackend } from './backend-app.js';

// The options the launcher passes when --help lists them (lib/rserver/arguments.ts).
const OPTIONS = [
  'www-socket',
  'auth-none',
  'server-user',
  'server-daemonize',
  'www-verify-user-agent',
  'www-frame-origin',
  'www-root-path',
  'server-data-dir',
  'database-config-file',
  'secure-cookie-key-file',
  'rsession-which-r',
  'www-thread-pool-size',
];

function getSocketPath(argv: readonly string[]): string | undefined {
  for (const [index, arg] of argv.entries()) {
    if (arg.startsWith('--www-socket=')) return arg.slice('--www-socket='.length);
    if (arg === '--www-socket') return argv[index + 1];
  }
  return undefined;
}

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  process.stdout.write(
    `bench fake rserver:\n${OPTIONS.map((name) => `  --${name} arg\n`).join('')}`,
  );
} else if (argv.includes('--version')) {
  process.stdout.write('2024.12.1+563 (bench fake rserver)\n');
} else {
  const socketPath = getSocketPath(argv);
  if (socketPath === undefined) {
    process.stderr.write('fake rserver: --www-socket is required\n');
    process.exitCode = 1;
  } else {
    await listenOn(createBenchBackend(), socketPath);
    announce({ socket: socketPath });
  }
}

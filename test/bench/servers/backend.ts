// The bench backend in a process of its own, so that a proxy's memory is measured alone:
//   node backend.js <socket> [--tcp]
// Serves on the Unix socket and, with --tcp, on 127.0.0.1 too (the "direct" contender: wrk
// speaks TCP only). Prints `bench-ready {"socket":…,"port":…}`; exits when stdin closes.
import { announce, exitWithRunner, listenOn } from './announce.js';
import { createBenchBackend } from './backend-app.js';

const [socketPath, tcp] = process.argv.slice(2);
if (socketPath === undefined) throw new Error('usage: backend.js <socket> [--tcp]');
await listenOn(createBenchBackend(), socketPath);
const port = tcp === '--tcp' ? await listenOn(createBenchBackend(), 'tcp') : undefined;
announce({ socket: socketPath, port });
exitWithRunner();

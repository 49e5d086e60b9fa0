// The adapter in a plain node:http server, in a process of its own so that its memory is
// measured alone: `node adapter-server.js <backend socket>`. Listens on 127.0.0.1 (a port the
// kernel picks), serves everything (no prefix, like the other contenders), prints
// `bench-ready {"port":…}` and exits when stdin closes.
import { createServer } from 'node:http';
import { createProxyAdapter } from '../../../lib/index.js';
import { announce, exitWithRunner, listenOn } from './announce.js';

const [socketPath] = process.argv.slice(2);
if (socketPath === undefined) throw new Error('usage: adapter-server.js <backend socket>');
const adapter = createProxyAdapter({ backend: socketPath });
const server = createServer();
adapter.attach(server);
announce({ port: await listenOn(server, 'tcp') });
exitWithRunner();

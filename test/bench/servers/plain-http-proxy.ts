// A reference, not a contender for use: http-proxy 1.18.1 as it comes, in front of the socket —
// one createProxyServer({ target: { socketPath }, agent }) with a keep-alive agent, web() for
// requests, ws() for upgrades — and nothing the adapter does for RStudio. What it costs is what
// the engine costs; the gap between it and the adapter is what the adapter adds on top:
//   node plain-http-proxy.js <backend socket>
// Prints `bench-ready {"port":…}`; exits when stdin closes.
import { Agent, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { announce, exitWithRunner, listenOn } from './announce.js';

const [socketPath] = process.argv.slice(2);
if (socketPath === undefined) throw new Error('usage: plain-http-proxy.js <backend socket>');
const proxy = httpProxy.createProxyServer({
  // http-proxy's types want a host and port; Node ignores them when socketPath is set.
  target: { socketPath, host: 'localhost', port: 80 },
  agent: new Agent({ keepAlive: true }),
});
// Without a listener http-proxy throws on the first error.
proxy.on('error', (_error: Error, _req: IncomingMessage, res: ServerResponse | Duplex) => {
  res.destroy();
});

const server = createServer((req, res) => proxy.web(req, res));
server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  proxy.ws(req, socket, head);
});

announce({ port: await listenOn(server, 'tcp') });
exitWithRunner();

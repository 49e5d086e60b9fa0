// A reference, not a contender for use: the least a proxy built on node:http can do — a keep-alive
// pool, the request and the answer passed through as they are, WebSockets piped — and nothing the
// adapter does for RStudio (prefix, forwarding headers, redirect rewriting, timeouts, error
// pages, cleanup when either side leaves). What it costs is what node:http costs:
//   node bare-proxy.js <backend socket>
// Prints `bench-ready {"port":…}`; exits when stdin closes.
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { announce, exitWithRunner, listenOn } from './announce.js';

const [socketPath] = process.argv.slice(2);
if (socketPath === undefined) throw new Error('usage: bare-proxy.js <backend socket>');
const agent = new Agent({ keepAlive: true });

const server = createServer((req, res) => {
  const proxyReq = request({
    socketPath,
    method: req.method,
    path: req.url,
    headers: req.headers,
    agent,
  });
  proxyReq.on('response', (proxyRes) => {
    res.writeHead(proxyRes.statusCode ?? 502, proxyRes.rawHeaders);
    proxyRes.pipe(res);
  });
  proxyReq.on('error', () => res.destroy());
  req.pipe(proxyReq);
});

server.on('upgrade', (req: IncomingMessage, client: Duplex) => {
  const proxyReq = request({ socketPath, method: req.method, path: req.url, headers: req.headers });
  proxyReq.on('upgrade', (proxyRes, proxySocket) => {
    const lines = ['HTTP/1.1 101 Switching Protocols'];
    for (let i = 0; i < proxyRes.rawHeaders.length; i += 2) {
      lines.push(`${proxyRes.rawHeaders[i] ?? ''}: ${proxyRes.rawHeaders[i + 1] ?? ''}`);
    }
    client.write(`${lines.join('\r\n')}\r\n\r\n`);
    proxySocket.pipe(client).pipe(proxySocket);
    proxySocket.on('error', () => client.destroy());
    client.on('error', () => proxySocket.destroy());
    client.on('close', () => proxySocket.destroy());
  });
  proxyReq.on('error', () => client.destroy());
  proxyReq.end();
});

announce({ port: await listenOn(server, 'tcp') });
exitWithRunner();

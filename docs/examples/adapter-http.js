// RStudio under /rstudio/ on a plain node:http server, behind a login token.
//
//   RSERVER_SOCKET=/run/user/1000/rsession-proxy/default/rserver.sock node adapter-http.js
//
// Prints the URL to open. Other variables: PORT (default 8080), HOST (default 127.0.0.1),
// ACCESS_TOKEN (default: a random one). A TCP port on a shared host is open to every user of the
// host, so the server itself must check who is asking: here, a token sent once to /login and
// kept in a cookie; `authorize` checks it on every request and WebSocket upgrade.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { createProxyAdapter } from 'rsession-proxy';

const token = process.env.ACCESS_TOKEN ?? randomBytes(24).toString('base64url');

// True when the request carries the token in its `rsp-token` cookie.
function hasToken(req) {
  const cookie = (req.headers.cookie ?? '')
    .split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith('rsp-token='));
  const given = Buffer.from(cookie?.slice('rsp-token='.length) ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const adapter = createProxyAdapter({
  backend: process.env.RSERVER_SOCKET,
  prefix: '/rstudio',
  authorize: hasToken,
  onError: (error) => console.error(`rstudio: ${error.message}`),
});

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/login') {
    // The token goes into a cookie that the browser sends with every request and upgrade.
    const given = url.searchParams.get('token') ?? '';
    res.writeHead(302, {
      location: '/rstudio/',
      'set-cookie': `rsp-token=${encodeURIComponent(given)}; Path=/; HttpOnly; SameSite=Strict`,
    });
    res.end();
    return;
  }
  adapter.web(req, res);
});
server.on('upgrade', adapter.upgrade);

server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`RStudio: http://${address}:${port}/login?token=${token}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    void adapter.close().then(() => server.close());
    server.closeAllConnections();
  });
}

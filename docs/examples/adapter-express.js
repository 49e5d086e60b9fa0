// RStudio under /rstudio/ in an Express app, behind a login token.
//
//   npm install express
//   RSERVER_SOCKET=/run/user/1000/rsession-proxy/default/rserver.sock node adapter-express.js
//
// Prints the URL to open. Other variables: PORT (default 8080), HOST (default 127.0.0.1),
// ACCESS_TOKEN (default: a random one). The app checks a token kept in a cookie, as any
// embedding server must on a shared host (see adapter-http.js).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import express from 'express';
import { createProxyAdapter } from 'rsession-proxy';

const token = process.env.ACCESS_TOKEN ?? randomBytes(24).toString('base64url');

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
  // Needed for WebSockets, which reach `adapter.upgrade` without passing through Express.
  prefix: '/rstudio',
  authorize: hasToken,
  onError: (error) => console.error(`rstudio: ${error.message}`),
});

const app = express();
app.get('/login', (req, res) => {
  const given = typeof req.query.token === 'string' ? req.query.token : '';
  res.cookie('rsp-token', given, { path: '/', httpOnly: true, sameSite: 'strict' });
  res.redirect('/rstudio/');
});
// No body parser before this: the adapter streams request bodies to rserver as they come.
app.use('/rstudio', adapter.middleware);
app.get('/', (req, res) => res.redirect('/rstudio/'));

const server = app.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`RStudio: http://${address}:${port}/login?token=${token}`);
});
server.on('upgrade', adapter.upgrade);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    void adapter.close().then(() => server.close());
    server.closeAllConnections();
  });
}

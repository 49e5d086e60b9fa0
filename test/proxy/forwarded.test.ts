import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildBackendHeaders,
  formatOrigin,
  getClientOrigin,
  type RequestFacts,
} from '../../lib/proxy/forwarded.js';
import { filterResponseHeaders } from '../../lib/proxy/response-headers.js';

function facts(headers: RequestFacts['headers'], more: Partial<RequestFacts> = {}): RequestFacts {
  return { headers, encrypted: false, remoteAddress: '10.0.0.9', ...more };
}

describe('getClientOrigin', () => {
  // [case, facts, trustProxy, expected origin]
  const cases: [string, RequestFacts, boolean, string][] = [
    ['Host as sent', facts({ host: 'hub.example.org:8443' }), false, 'http://hub.example.org:8443'],
    [
      'TLS connection',
      facts({ host: 'hub.example.org' }, { encrypted: true }),
      false,
      'https://hub.example.org',
    ],
    [
      'untrusted X-Forwarded-* ignored',
      facts({ host: 'a.org', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }),
      false,
      'http://a.org',
    ],
    [
      'trusted X-Forwarded-* used',
      facts({
        host: '127.0.0.1:9000',
        'x-forwarded-host': 'hub.example.org',
        'x-forwarded-proto': 'https',
      }),
      true,
      'https://hub.example.org',
    ],
    [
      'comma-joined X-Forwarded-Host: the first',
      facts({ host: 'x', 'x-forwarded-host': 'hub.example.org, proxy.internal:8000' }),
      true,
      'http://hub.example.org',
    ],
    [
      'X-Forwarded-Proto list: the first',
      facts({ host: 'x', 'x-forwarded-proto': 'https,http' }),
      true,
      'https://x',
    ],
    ['wss counts as https', facts({ host: 'x', 'x-forwarded-proto': 'wss' }), true, 'https://x'],
    [
      'unknown proto ignored',
      facts({ host: 'x', 'x-forwarded-proto': 'gopher' }),
      true,
      'http://x',
    ],
    [
      'invalid X-Forwarded-Host falls back to Host',
      facts({ host: 'a.org', 'x-forwarded-host': 'evil.example/path' }),
      true,
      'http://a.org',
    ],
    [
      'invalid Host',
      facts({ host: 'a.org/../b' }, { localAddress: '127.0.0.1', localPort: 81 }),
      false,
      'http://127.0.0.1:81',
    ],
    [
      'no Host (HTTP/1.0)',
      facts({}, { localAddress: '::ffff:10.1.2.3', localPort: 80 }),
      false,
      'http://10.1.2.3:80',
    ],
    [
      'no Host, IPv6',
      facts({}, { localAddress: '::1', localPort: 8080 }),
      false,
      'http://[::1]:8080',
    ],
    ['no Host, Unix socket', facts({}), false, 'http://localhost'],
    ['IPv6 Host', facts({ host: '[::1]:8080' }), false, 'http://[::1]:8080'],
  ];
  for (const [name, input, trust, expected] of cases) {
    test(name, () => assert.equal(formatOrigin(getClientOrigin(input, trust)), expected));
  }
});

describe('buildBackendHeaders', () => {
  const origin = { proto: 'https', host: 'hub.example.org' } as const;
  const base = { origin, prefix: '/rstudio', trustProxy: false, upgrade: false };

  test('keeps end-to-end headers, cookies and the CSRF token as they are', () => {
    const headers = buildBackendHeaders(
      facts({
        host: 'hub.example.org',
        cookie: 'user-id=a; rs-csrf-token=t',
        'x-rs-csrf-token': 't',
        'content-type': 'application/json',
        'content-length': '12',
        authorization: 'token abc',
      }),
      base,
    );
    assert.equal(headers.cookie, 'user-id=a; rs-csrf-token=t');
    assert.equal(headers['x-rs-csrf-token'], 't');
    assert.equal(headers['content-length'], '12');
    assert.equal(headers.host, 'hub.example.org');
    assert.equal(headers.authorization, 'token abc');
  });

  test('sets the forwarding headers rserver builds its URLs from', () => {
    const headers = buildBackendHeaders(facts({ host: 'x' }), base);
    assert.equal(headers['x-forwarded-proto'], 'https');
    assert.equal(headers['x-forwarded-host'], 'hub.example.org');
    assert.equal(headers['x-forwarded-for'], '10.0.0.9');
    assert.equal(headers['x-rstudio-root-path'], '/rstudio');
  });

  test('no prefix: no X-RStudio-Root-Path, so --www-root-path still applies', () => {
    const headers = buildBackendHeaders(facts({ 'x-rstudio-root-path': '/evil' }), {
      ...base,
      prefix: '',
    });
    assert.equal(headers['x-rstudio-root-path'], undefined);
  });

  test("replaces the client's own forwarding headers; extends X-Forwarded-For only when trusted", () => {
    const sent = facts({
      forwarded: 'host=evil.example;proto=https',
      'x-forwarded-for': '1.2.3.4',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-port': '8888',
      'x-forwarded-proto': 'http',
      'x-forwarded-prefix': '/evil',
      'x-rstudio-request': 'http://evil.example/',
      'x-rstudio-root-path': '/evil',
    });
    const untrusted = buildBackendHeaders(sent, base);
    assert.equal(untrusted.forwarded, undefined);
    assert.equal(untrusted['x-forwarded-port'], undefined);
    assert.equal(untrusted['x-forwarded-prefix'], undefined);
    assert.equal(untrusted['x-rstudio-request'], undefined);
    assert.equal(untrusted['x-forwarded-for'], '10.0.0.9');
    assert.equal(untrusted['x-forwarded-host'], 'hub.example.org');
    assert.equal(untrusted['x-rstudio-root-path'], '/rstudio');
    const trusted = buildBackendHeaders(sent, { ...base, trustProxy: true });
    assert.equal(trusted['x-forwarded-for'], '1.2.3.4, 10.0.0.9');
  });

  test('drops hop-by-hop headers and those the Connection header names', () => {
    const headers = buildBackendHeaders(
      facts({
        connection: 'keep-alive, X-Secret',
        'keep-alive': 'timeout=5',
        'x-secret': 'hop',
        'proxy-authorization': 'Basic abc',
        'proxy-connection': 'keep-alive',
        te: 'trailers',
        trailer: 'x',
        upgrade: 'h2c',
        'transfer-encoding': 'chunked',
      }),
      base,
    );
    for (const name of [
      'connection',
      'keep-alive',
      'x-secret',
      'proxy-authorization',
      'proxy-connection',
      'te',
      'trailer',
      'upgrade',
    ]) {
      assert.equal(headers[name], undefined, name);
    }
    assert.equal(headers['transfer-encoding'], 'chunked');
  });

  test('an upgrade keeps exactly Connection: Upgrade and Upgrade: websocket', () => {
    const headers = buildBackendHeaders(
      facts({
        connection: 'keep-alive, Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-protocol': 'a, b',
      }),
      { ...base, upgrade: true },
    );
    assert.equal(headers.connection, 'Upgrade');
    assert.equal(headers.upgrade, 'websocket');
    assert.equal(headers['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
    assert.equal(headers['sec-websocket-protocol'], 'a, b');
  });
});

test('filterResponseHeaders drops connection-scoped response headers only', () => {
  const raw = [
    'Connection',
    'close, X-Hop',
    'Keep-Alive',
    'timeout=5',
    'X-Hop',
    '1',
    'Transfer-Encoding',
    'chunked',
    'Set-Cookie',
    'a=1',
    'Set-Cookie',
    'b=2',
    'X-RS-CSRF-Token',
    't',
  ];
  const kept = ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-RS-CSRF-Token', 't'];
  assert.deepEqual(filterResponseHeaders(raw, false), ['Transfer-Encoding', 'chunked', ...kept]);
  // To an HTTP/1.0 client the body goes unchunked.
  assert.deepEqual(filterResponseHeaders(raw, true), kept);
});

import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { test } from 'node:test';
import {
  applyFrontForwarding,
  lastOf,
  parseLastForwarded,
  readFrontForwarding,
  toHttpScheme,
  type FrontForwarding,
} from '../../lib/serve/trusted-front.js';

test('toHttpScheme: ws and wss (CHP on upgrades) are http and https; nothing else is believed', () => {
  const cases: [string | undefined, 'http' | 'https' | undefined][] = [
    ['https', 'https'],
    ['HTTPS', 'https'],
    [' wss ', 'https'],
    ['http', 'http'],
    ['ws', 'http'],
    ['gopher', undefined],
    ['https;x', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [proto, scheme] of cases) assert.equal(toHttpScheme(proto), scheme, String(proto));
});

test('lastOf: the value the nearest proxy appended', () => {
  const cases: [string | string[] | undefined, string | undefined][] = [
    ['https', 'https'],
    ['http,https', 'https'],
    ['http, https ', 'https'],
    [['http', 'https'], 'https'],
    ['https,', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [value, last] of cases) assert.equal(lastOf(value), last, JSON.stringify(value));
});

test('parseLastForwarded: proto= and host= of the last element, quotes removed', () => {
  assert.deepEqual(parseLastForwarded('for=1.2.3.4;proto=http;host=evil, proto=https;host=a.org'), {
    proto: 'https',
    host: 'a.org',
  });
  assert.deepEqual(parseLastForwarded('Host="localhost:8443";Proto=https'), {
    proto: 'https',
    host: 'localhost:8443',
  });
  assert.deepEqual(parseLastForwarded('for=x'), { proto: undefined, host: undefined });
  assert.deepEqual(parseLastForwarded(undefined), { proto: undefined, host: undefined });
});

test('readFrontForwarding: per field the nearest front’s X-Forwarded-*, else its Forwarded', () => {
  const cases: [string, IncomingHttpHeaders, FrontForwarding][] = [
    ['nothing forwarded', { host: 'a' }, { proto: undefined, host: undefined }],
    [
      'nginx: one value each',
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'localhost:8443' },
      { proto: 'https', host: 'localhost:8443' },
    ],
    [
      'CHP appends to what the client sent: the last is the front’s',
      { 'x-forwarded-proto': 'http,https', 'x-forwarded-host': 'localhost:8443' },
      { proto: 'https', host: 'localhost:8443' },
    ],
    ['CHP on an upgrade', { 'x-forwarded-proto': 'ws,wss' }, { proto: 'https', host: undefined }],
    [
      'a chain of hosts: the nearest front’s',
      { 'x-forwarded-host': 'evil.example, rstudio.example.org' },
      { proto: undefined, host: 'rstudio.example.org' },
    ],
    [
      'Forwarded only',
      { forwarded: 'proto=http;host=evil, proto=https;host="rstudio.example.org"' },
      { proto: 'https', host: 'rstudio.example.org' },
    ],
    [
      'X-Forwarded-* before Forwarded, field by field',
      { 'x-forwarded-proto': 'https', forwarded: 'proto=http;host=b.org' },
      { proto: 'https', host: 'b.org' },
    ],
    [
      'a host that could smuggle a path is not believed',
      { 'x-forwarded-host': 'a.org/evil', 'x-forwarded-proto': 'gopher' },
      { proto: undefined, host: undefined },
    ],
  ];
  for (const [name, headers, expected] of cases) {
    assert.deepEqual(readFrontForwarding(headers), expected, name);
  }
});

test('applyFrontForwarding leaves one believed value each and no Forwarded', () => {
  const req = {
    headers: {
      host: '127.0.0.1:8787',
      'x-forwarded-proto': 'http,https',
      'x-forwarded-host': 'a.org/evil',
      forwarded: 'proto=http',
      'x-rstudio-request': 'http://evil.example/',
    },
  } as unknown as IncomingMessage;
  assert.deepEqual(applyFrontForwarding(req), { proto: 'https', host: undefined });
  assert.deepEqual(req.headers, {
    host: '127.0.0.1:8787',
    'x-forwarded-proto': 'https',
    'x-rstudio-request': 'http://evil.example/',
  });
});

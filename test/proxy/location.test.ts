import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { addPrefix, getHostname, rewriteLocation } from '../../lib/proxy/location.js';
import { getClientOrigin } from '../../lib/proxy/forwarded.js';
import { getBackendHosts } from '../../lib/proxy/response-headers.js';

// The client asked for https://hub.example.org/rstudio/help/library/stats/html/lm.html.
const context = {
  origin: 'https://hub.example.org',
  prefix: '/rstudio',
  backendPath: '/help/library/stats/html/lm.html?x=1',
  backendHosts: new Set(['hub.example.org', 'localhost', '127.0.0.1', '[::1]', 'node17']),
};

describe('rewriteLocation', () => {
  // [case, Location from rserver, Location the client gets]
  const cases: [string, string, string][] = [
    [
      'absolute URL from rserver, prefix included',
      'https://hub.example.org/rstudio/auth-sign-in?appUri=%2F',
      'https://hub.example.org/rstudio/auth-sign-in?appUri=%2F',
    ],
    [
      'port inserted (the backend port leaks into the URL)',
      'https://hub.example.org:8888/rstudio/',
      'https://hub.example.org/rstudio/',
    ],
    [
      'scheme lost behind TLS termination',
      'http://hub.example.org/rstudio/',
      'https://hub.example.org/rstudio/',
    ],
    [
      'comma-joined X-Forwarded-Host',
      'https://hub.example.org, hub.example.org/rstudio/auth-sign-in?appUri=%2F',
      'https://hub.example.org/rstudio/auth-sign-in?appUri=%2F',
    ],
    [
      'comma-joined without a space, with ports',
      'http://hub.example.org:443,hub.example.org:80/rstudio/',
      'https://hub.example.org/rstudio/',
    ],
    [
      "rserver's own view: localhost and its port",
      'http://localhost:8787/rstudio/',
      'https://hub.example.org/rstudio/',
    ],
    ['rserver on 127.0.0.1', 'http://127.0.0.1:8787/', 'https://hub.example.org/rstudio/'],
    ['rserver on [::1]', 'http://[::1]:8787/x', 'https://hub.example.org/rstudio/x'],
    ["the machine's own name", 'http://node17:8787/x', 'https://hub.example.org/rstudio/x'],
    ['host name case', 'http://LOCALHOST/x', 'https://hub.example.org/rstudio/x'],
    [
      'prefix lost (rserver not told the root path)',
      'http://localhost:8787/auth-sign-in?appUri=%2F',
      'https://hub.example.org/rstudio/auth-sign-in?appUri=%2F',
    ],
    [
      'prefix not doubled',
      'https://hub.example.org/rstudio/rstudio-x',
      'https://hub.example.org/rstudio/rstudio-x',
    ],
    ['bare origin', 'http://localhost:8787', 'https://hub.example.org/rstudio/'],
    ['origin and query', 'http://localhost?a=1', 'https://hub.example.org/rstudio/?a=1'],
    ['scheme-relative', '//localhost:8787/x', 'https://hub.example.org/rstudio/x'],
    ['absolute path without prefix', '/auth-sign-in', '/rstudio/auth-sign-in'],
    ['absolute path with prefix', '/rstudio/auth-sign-in', '/rstudio/auth-sign-in'],
    ['the prefix itself', '/rstudio', '/rstudio'],
    ['R help: relative ../', '../../base/html/lm.html', '/rstudio/help/library/base/html/lm.html'],
    ['relative ./', './', '/rstudio/help/library/stats/html/'],
    ['relative name', 'glm.html#top', '/rstudio/help/library/stats/html/glm.html#top'],
    ['query only', '?x=2', '/rstudio/help/library/stats/html/lm.html?x=2'],
    ['.. stops at the backend root', '../../../../../../etc', '/rstudio/etc'],
    ['another host: left alone', 'https://cran.r-project.org/x', 'https://cran.r-project.org/x'],
    [
      'another host with userinfo',
      'http://localhost@evil.example/',
      'http://localhost@evil.example/',
    ],
    ['scheme-relative other host', '//evil.example/x', '//evil.example/x'],
    ['backslash trick', '/\\evil.example/x', '/\\evil.example/x'],
    ['backslash relative', '\\\\evil.example/x', '\\\\evil.example/x'],
    ['not http', 'mailto:a@b.example', 'mailto:a@b.example'],
    ['javascript: left alone', 'javascript:alert(1)', 'javascript:alert(1)'],
    ['empty', '', ''],
  ];
  for (const [name, location, expected] of cases) {
    test(name, () => assert.equal(rewriteLocation(location, context), expected));
  }

  test('no prefix: absolute URLs move to the client origin, paths are kept', () => {
    const plain = { ...context, prefix: '', backendPath: '/a/b' };
    assert.equal(rewriteLocation('http://localhost:8787/x', plain), 'https://hub.example.org/x');
    assert.equal(rewriteLocation('/x', plain), '/x');
    assert.equal(rewriteLocation('../y', plain), '/y');
  });

  test('the client host with a port is kept as the client sent it', () => {
    const withPort = { ...context, origin: 'http://127.0.0.1:40123' };
    assert.equal(
      rewriteLocation('http://127.0.0.1/rstudio/', withPort),
      'http://127.0.0.1:40123/rstudio/',
    );
  });

  test('is idempotent on its own output', () => {
    for (const [, location] of cases) {
      const once = rewriteLocation(location, context);
      const relative = !/^[a-z]+:|^\/\//i.test(once);
      // A relative result was already resolved once; only absolute ones are safe to re-apply.
      if (!relative || once.startsWith('/rstudio')) {
        assert.equal(rewriteLocation(once, context), once, location);
      }
    }
  });
});

describe('getHostname', () => {
  const cases: [string, string | undefined][] = [
    ['Example.ORG:443', 'example.org'],
    ['a.org, b.org', 'a.org'],
    ['[::1]:8787', '[::1]'],
    ['[::1', undefined],
    ['user:pw@host:1', 'host'],
    ['', undefined],
    [':80', undefined],
  ];
  for (const [authority, expected] of cases) {
    test(`${JSON.stringify(authority)} → ${String(expected)}`, () => {
      assert.equal(getHostname(authority), expected);
    });
  }
});

describe('addPrefix', () => {
  const cases: [string, string, string][] = [
    ['/x', '', '/x'],
    ['/x', '/p', '/p/x'],
    ['/p', '/p', '/p'],
    ['/p/x', '/p', '/p/x'],
    ['/p?x', '/p', '/p?x'],
    ['/px', '/p', '/p/px'],
    ['/?p', '/p', '/p/?p'],
  ];
  for (const [path, prefix, expected] of cases) {
    test(`${path} + ${prefix || "''"} → ${expected}`, () => {
      assert.equal(addPrefix(path, prefix), expected);
    });
  }
});

describe('backend hosts, as the adapter computes them', () => {
  test("include loopback names, the machine's name and the hosts rserver was told", () => {
    const facts = { headers: { host: 'Hub.Example.org:8443' }, encrypted: true };
    const origin = getClientOrigin(facts, false);
    const hosts = getBackendHosts(facts, origin);
    for (const host of ['localhost', '127.0.0.1', '[::1]', 'hub.example.org']) {
      assert.ok(hosts.has(host), host);
    }
    assert.ok(hosts.has(hostname().toLowerCase()));
    assert.ok(!hosts.has('evil.example'));
  });
});

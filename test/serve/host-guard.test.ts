// The host guard (DNS rebinding): only requests naming a loopback host or one given with
// --allow-host pass, whatever came before them on the same guard.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHostGuard, parseHostHeader } from '../../lib/serve/host-guard.js';

test('Host values are reduced to a lower-case name without the port, or refused', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['localhost:8787', 'localhost'],
    ['LocalHost', 'localhost'],
    ['[::1]:8787', '[::1]'],
    ['rstudio.example.org.', 'rstudio.example.org'],
    ['localhost:99999', undefined],
    ['user@localhost', undefined],
    ['localhost/x', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [value, name] of cases) assert.equal(parseHostHeader(value), name, String(value));
});

test('an allowed host passes, and does not open the way for the next request’s host', () => {
  const isAllowed = createHostGuard(['rstudio.example.org']);
  // No Host at all is refused, before and after an allowed one.
  const sequence: [string | undefined, boolean][] = [
    [undefined, false],
    ['localhost:8787', true],
    ['localhost:8787', true],
    ['evil.example.com:8787', false],
    ['evil.example.com:8787', false],
    ['localhost:8787', true],
    [undefined, false],
    ['RSTUDIO.example.org', true],
    ['rstudio.example.org.evil.com', false],
    ['127.0.0.1:8787', true],
    ['localhost:8787 ', true],
    ['localhost:8787@evil.example.com', false],
  ];
  for (const [host, expected] of sequence) assert.equal(isAllowed(host), expected, String(host));
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getUpgradeProblem } from '../../lib/proxy/websocket.js';

const good = {
  connection: 'keep-alive, Upgrade',
  upgrade: 'websocket',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
};

describe('getUpgradeProblem', () => {
  test('a browser handshake passes', () => {
    assert.equal(getUpgradeProblem('GET', good), undefined);
    assert.equal(getUpgradeProblem('GET', { ...good, upgrade: 'WebSocket' }), undefined);
  });

  const bad: [string, string, Record<string, string | undefined>, RegExp][] = [
    ['POST', 'POST', good, /GET/],
    ['h2c', 'GET', { ...good, upgrade: 'h2c' }, /websocket/],
    ['two protocols', 'GET', { ...good, upgrade: 'websocket, h2c' }, /websocket/],
    ['no Connection: Upgrade', 'GET', { ...good, connection: 'keep-alive' }, /Connection/],
    ['no key', 'GET', { ...good, 'sec-websocket-key': undefined }, /Key/],
    ['bad key', 'GET', { ...good, 'sec-websocket-key': 'short' }, /Key/],
    ['version 8', 'GET', { ...good, 'sec-websocket-version': '8' }, /version 13/],
  ];
  for (const [name, method, headers, message] of bad) {
    test(`refuses: ${name}`, () => assert.match(getUpgradeProblem(method, headers) ?? '', message));
  }
});

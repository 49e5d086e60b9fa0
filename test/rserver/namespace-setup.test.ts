import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSetupArgs, getKeptTmpDirs } from '../../lib/rserver/namespace-setup.js';
import { parseListenerUid } from '../../lib/rserver/tcp-port.js';
import { rewriteResolvConf } from '../../lib/rserver/resolv-conf.js';

describe('getKeptTmpDirs', () => {
  const cases: [(string | undefined)[], string[]][] = [
    [['/run/user/1000/rsp', '/home/a'], []],
    [['/tmp/rsp-1/rt/default', '/tmp/rsp-1/data', '/tmp/rsp-1'], ['rsp-1']],
    [
      ['/tmp/a/', '/tmp/b/c', undefined, '/tmp/', '/tmp'],
      ['a', 'b/c'],
    ],
    [['/tmp/../etc', '/tmp/x/./y', '/tmpfoo/x'], []],
    [
      ['/tmp/ab', '/tmp/a'],
      ['a', 'ab'],
    ],
  ];
  for (const [paths, expected] of cases) {
    test(`${JSON.stringify(paths)} → ${JSON.stringify(expected)}`, () =>
      assert.deepEqual(getKeptTmpDirs(paths), expected));
  }
});

describe('buildSetupArgs', () => {
  const base = { ip: '/usr/sbin/ip', mount: '/usr/bin/mount', setpriv: '/usr/bin/setpriv' };
  test('a network namespace with the relay, the host /tmp', () =>
    assert.deepEqual(
      buildSetupArgs({
        ...base,
        privateTmp: undefined,
        resolvConf: undefined,
        relay: ['/usr/bin/node', '/x/relay-main.js', '/run/s.sock', '8787'],
      }),
      [
        '/usr/sbin/ip',
        '/usr/bin/mount',
        '/usr/bin/setpriv',
        '',
        '-',
        'relay',
        '/usr/bin/node',
        '/x/relay-main.js',
        '/run/s.sock',
        '8787',
      ],
    ));
  test('a private /tmp keeping two directories, a resolv.conf, no network', () =>
    assert.deepEqual(
      buildSetupArgs({
        ...base,
        ip: undefined,
        privateTmp: ['a', 'b/c'],
        resolvConf: '/run/x/resolv.conf',
        relay: undefined,
      }),
      ['', '/usr/bin/mount', '/usr/bin/setpriv', '/run/x/resolv.conf', '2', 'a', 'b/c', '-'],
    ));
  test("a relay command of the wrong length is the launcher's bug", () =>
    assert.throws(() =>
      buildSetupArgs({ ...base, privateTmp: undefined, resolvConf: undefined, relay: ['node'] }),
    ));
});

describe('parseListenerUid', () => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 1 1',
    '   1: 0100007F:1F91 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1002        0 2 1',
    '   2: 00000000:1F92 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1003        0 3 1',
  ].join('\n');
  test('the owner of a listener on 127.0.0.1', () =>
    assert.equal(parseListenerUid(table, 8080), 1001));
  test('an established connection is no listener', () =>
    assert.equal(parseListenerUid(table, 8081), undefined));
  test('a listener on 0.0.0.0 is not on 127.0.0.1', () =>
    assert.equal(parseListenerUid(table, 8082), undefined));
});

describe('rewriteResolvConf', () => {
  test("a resolver on the host's loopback is replaced by slirp4netns's, the rest kept", () =>
    assert.equal(
      rewriteResolvConf('nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.org\n'),
      'nameserver 10.0.2.3\noptions edns0 trust-ad\nsearch example.org\n',
    ));
  test('a resolver the namespace reaches through slirp4netns is kept as it is', () =>
    assert.equal(rewriteResolvConf('nameserver 10.1.1.1\nnameserver 127.0.0.1\n'), undefined));
  test('no resolv.conf at all gets the forwarder', () =>
    assert.equal(rewriteResolvConf(''), 'nameserver 10.0.2.3\n'));
});

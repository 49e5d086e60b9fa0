// The double's table of what differs by release, and the pure pieces that read it: CSRF names,
// the PAM helper's arguments, the client address, rsession's environment, the key file layout.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isCsrfFormValid, isCsrfHeaderValid } from '../fixtures/rserver/csrf.js';
import { buildPamHelperArgs, getRequestRhost } from '../fixtures/rserver/pam-helper.js';
import { getReleaseFacts } from '../fixtures/rserver/release.js';
import { buildSessionEnv } from '../fixtures/rserver/session-env.js';
import { buildEvalCommand, parseFrame } from '../fixtures/rsession/r-console.js';

describe('release facts', () => {
  const rows: [string, Partial<ReturnType<typeof getReleaseFacts>>][] = [
    [
      '1.3.1093',
      {
        hasWwwSocket: false,
        modernSignIn: false,
        csrfCookies: ['csrf-token'],
        pamHelperArgs: 'user',
        keyFiles: 'shared-tmp',
        sessionRpcKeyFile: false,
      },
    ],
    [
      '1.4.1717',
      {
        modernSignIn: true,
        csrfCookies: ['csrf-token'],
        csrfHeaders: ['X-CSRF-Token'],
        pamHelperArgs: 'user-service-prompt',
        keyFiles: 'shared-tmp',
        sessionRpcKeyFile: true,
      },
    ],
    ['2021.09.0+351', { csrfCookies: ['csrf-token'] }],
    [
      '2022.02.0+443',
      {
        csrfCookies: ['rs-csrf-token', 'csrf-token'],
        csrfHeaders: ['X-RS-CSRF-Token', 'X-CSRF-Token'],
      },
    ],
    ['2022.07.2+576', { keyFiles: 'shared-tmp', hasWwwSocket: false, threadPoolSize: 2 }],
    ['2022.12.0+353', { keyFiles: 'user-cache' }],
    ['2024.09.1+394', { hasWwwSocket: false, jsonSignIn: false }],
    ['2024.12.0+467', { hasWwwSocket: true, threadPoolSize: 6, keyFiles: 'user-cache' }],
    ['2026.01.0+1', { jsonSignIn: true, pamHelperArgs: 'user-service-prompt-rhost' }],
    ['2026.04.2+9', { keyFiles: 'user-cache' }],
    ['2026.05.0+218', { keyFiles: 'system-first' }],
    ['2026.07.3+12', { keyFiles: 'system-first' }],
    ['2026.08.0+1', { keyFiles: 'system-first-fallback' }],
  ];
  for (const [release, expected] of rows) {
    test(release, () => {
      const facts = getReleaseFacts(release);
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(facts[key as keyof typeof facts], value, `${release} ${key}`);
      }
    });
  }
});

describe('CSRF names', () => {
  const current = getReleaseFacts('2024.12.1+563');
  const old = getReleaseFacts('2021.09.0+351');
  const form = (body: string) => new URLSearchParams(body);
  test('a form repeats the cookie in a field of the same name', () => {
    const rows: [string, string, typeof current, boolean][] = [
      ['rs-csrf-token=t', 'rs-csrf-token=t', current, true],
      ['rs-csrf-token=t', 'csrf-token=t', current, true],
      ['csrf-token=t', 'csrf-token=t', current, true],
      ['rs-csrf-token=t; csrf-token=t', 'rs-csrf-token=t&csrf-token=t', current, true],
      ['rs-csrf-token=t', 'rs-csrf-token=u', current, false],
      ['rs-csrf-token=t', '', current, false],
      ['', 'rs-csrf-token=', current, false],
      ['rs-csrf-token=t', 'rs-csrf-token=t', old, false],
      ['csrf-token=t', 'csrf-token=t', old, true],
    ];
    for (const [cookie, body, facts, valid] of rows) {
      assert.equal(isCsrfFormValid({ cookie }, form(body), facts), valid, `${cookie} / ${body}`);
    }
  });
  test('an RPC repeats it in a header', () => {
    const rows: [Record<string, string>, typeof current, boolean][] = [
      [{ cookie: 'rs-csrf-token=t', 'x-rs-csrf-token': 't' }, current, true],
      [{ cookie: 'csrf-token=t', 'x-csrf-token': 't' }, current, true],
      [{ cookie: 'rs-csrf-token=t', 'x-rs-csrf-token': 'u' }, current, false],
      [{ cookie: 'rs-csrf-token=t' }, current, false],
      [{ cookie: 'csrf-token=t', 'x-csrf-token': 't' }, old, true],
      [{ cookie: 'rs-csrf-token=t', 'x-rs-csrf-token': 't' }, old, false],
    ];
    for (const [headers, facts, valid] of rows) {
      assert.equal(isCsrfHeaderValid(headers, facts), valid, JSON.stringify(headers));
    }
  });
});

describe('the PAM helper', () => {
  test('arguments by release', () => {
    assert.deepEqual(buildPamHelperArgs('user', 'ann', true, '10.0.0.1'), ['ann']);
    assert.deepEqual(buildPamHelperArgs('user-service-prompt', 'ann', true, '10.0.0.1'), [
      'ann',
      'rstudio',
      '1',
    ]);
    assert.deepEqual(buildPamHelperArgs('user-service-prompt', 'ann', false, ''), [
      'ann',
      'rstudio',
      '0',
    ]);
    assert.deepEqual(buildPamHelperArgs('user-service-prompt-rhost', 'ann', true, '10.0.0.1'), [
      'ann',
      'rstudio',
      '1',
      '10.0.0.1',
    ]);
    assert.deepEqual(buildPamHelperArgs('user-service-prompt-rhost', 'ann', true, ''), [
      'ann',
      'rstudio',
      '1',
    ]);
  });
  test('the client address: Forwarded, X-Forwarded-For, X-RStudio-Client-IP', () => {
    const rows: [Record<string, string>, string][] = [
      [{}, ''],
      [{ forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43' }, '192.0.2.60'],
      [{ forwarded: 'for="[2001:db8:cafe::17]:4711"' }, '2001:db8:cafe::17]:4711'],
      [{ 'x-forwarded-for': '10.1.1.1, 10.2.2.2' }, '10.1.1.1'],
      [{ 'x-rstudio-client-ip': '10.3.3.3' }, '10.3.3.3'],
      [{ forwarded: 'for=10.9.9.9', 'x-forwarded-for': '10.1.1.1' }, '10.9.9.9'],
    ];
    for (const [headers, rhost] of rows) {
      assert.equal(getRequestRhost(headers), rhost, JSON.stringify(headers));
    }
  });
});

describe("rsession's environment", () => {
  test('built anew: only the variables rserver passes or sets', () => {
    const parent = {
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      SHELL: '/bin/bash',
      HOME: '/root',
      USER: 'somebody-else',
      R_LIBS_USER: '/site/lib',
      RSESSION_PROXY_MARKER: '/run/x',
      RS_LOG_LEVEL: 'DEBUG',
      RS_LOGGER_TYPE: 'stderr',
      RSTUDIO_CONFIG_DIR: '/private/etc',
      RSTUDIO_WHICH_R: '/opt/R/bin/R',
      XDG_CONFIG_DIRS: '/site/xdg',
      XDG_CACHE_HOME: '/cache',
      XDG_RUNTIME_DIR: '/run/user/1',
      MANPATH: '',
    };
    const env = buildSessionEnv(parent, {
      account: { name: 'ann', uid: 1234, home: '/home/ann' },
      rHome: '/usr/lib/R',
      release: '2024.12.1+563',
      sessionTmpDir: '/d/rstudio-rsession',
      rpcSocket: '/d/rstudio-rserver/session-server-rpc.socket',
      rpcSecret: 's3cret',
    });
    assert.deepEqual(env, {
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      SHELL: '/bin/bash',
      USER: 'ann',
      LOGNAME: 'ann',
      HOME: '/home/ann',
      RS_LOG_LEVEL: 'DEBUG',
      RSTUDIO_CONFIG_DIR: '/private/etc',
      XDG_CONFIG_DIRS: '/site/xdg',
      RSTUDIO_LIMIT_RPC_CLIENT_UID: '1234',
      R_HOME: '/usr/lib/R',
      RSTUDIO_DEFAULT_R_VERSION_HOME: '/usr/lib/R',
      RSTUDIO_VERSION: '2024.12.1+563',
      RS_SESSION_TMP_DIR: '/d/rstudio-rsession',
      RS_SERVER_RPC_SOCKET_PATH: '/d/rstudio-rserver/session-server-rpc.socket',
      RS_SESSION_SERVER_RPC_SECRET: 's3cret',
    });
  });
});

describe('the R console framing', () => {
  test('code travels as bytes; answers come back as one hex frame', () => {
    const command = buildEvalCommand('cat("a\\nb")\n"ü"');
    assert.equal(command.split('\n').length, 2, 'one line');
    assert.ok(command.endsWith('\n'));
    assert.match(command, /as\.raw\(c\(99,97,116,/);
    const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');
    assert.deepEqual(parseFrame(`\u0001O${hex('[1] "ü"')}`), { output: '[1] "ü"' });
    assert.deepEqual(parseFrame(`\u0001E${hex('object x not found')}`), {
      output: '',
      error: 'object x not found',
    });
    assert.deepEqual(parseFrame('\u0001O'), { output: '' });
    assert.equal(parseFrame('[1] 2'), undefined);
  });
});

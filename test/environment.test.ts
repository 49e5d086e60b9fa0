// The table of environment variables (lib/environment.ts): each variable's parsing and the error
// naming it, their precedence, that every normalizer honours them with options winning, that the
// doctor sees what serve sees, and that docs/cli.md lists exactly the table.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ENVIRONMENT_VARIABLES,
  normalizeInstanceOptions,
  normalizeLaunchOptions,
  normalizeServeOptions,
  parseSetting,
  readEnvironment,
  readSetting,
} from '../lib/index.js';
import { makeCliEnv, runCli } from './helpers/cli.js';
import { FAKE_R, RSERVER_DOUBLE } from './helpers/rserver-double.js';

const TOKEN = 'q8Zr2Lw0XbN5tVj7yKc3HmPd9sFgA1eU';

// [variable, a good value, what it parses to, a bad value]
const CASES: [string, string, unknown, string][] = [
  ['RSESSION_PROXY_INSTANCE', 'lab-2', 'lab-2', '../x'],
  ['RSESSION_PROXY_RUNTIME_DIR', '/tmp/rsp-me', '/tmp/rsp-me', 'a\nb'],
  ['RSESSION_PROXY_RSERVER', '/opt/rserver', '/opt/rserver', ' '],
  ['RSESSION_PROXY_R', '/usr/bin/R', '/usr/bin/R', 'R\0'],
  ['RSTUDIO_WHICH_R', '/usr/bin/R', '/usr/bin/R', '\t'],
  ['RSESSION_PROXY_TIMEOUT', '2.5', 2500, 'soon'],
  ['RSERVER_TIMEOUT', '45', 45_000, '-3'],
  [
    'JUPYTER_RSESSION_PROXY_WWW_FRAME_ORIGIN',
    'https://hub.example.org',
    'https://hub.example.org',
    'javascript:x',
  ],
  ['JUPYTER_RSESSION_PROXY_THREAD_POOL_SIZE', '8', 8, '1.5'],
  ['RSESSION_PROXY_ISOLATION', 'namespace', 'namespace', 'none'],
  ['RSESSION_PROXY_LISTEN', '127.0.0.1:8787', { host: '127.0.0.1', port: 8787 }, '0.0.0.0'],
  ['RSESSION_PROXY_PREFIX', 'rstudio', '/rstudio/', '/%2e%2e/'],
  ['RSESSION_PROXY_TOKEN', TOKEN, TOKEN, 'short'],
  [
    'RSESSION_PROXY_TOKEN_FILE',
    '/home/me/.rstudio-token',
    '/home/me/.rstudio-token',
    ''.padEnd(5000, 'x'),
  ],
  [
    'RSESSION_PROXY_ALLOW_HOSTS',
    'a.example,b.example',
    ['a.example', 'b.example'],
    'a.example,evil/x',
  ],
  ['RSESSION_PROXY_IDLE_TIMEOUT', '0.05', 3000, 'never'],
  ['RSESSION_PROXY_LOG_FORMAT', 'json', 'json', 'xml'],
  ['RSESSION_PROXY_DEMO', 'auto', 'auto', 'yes'],
];

describe('the environment table', () => {
  test('every variable has a case here, and a flag or a reason to have none', () => {
    assert.deepEqual(
      ENVIRONMENT_VARIABLES.map((v) => v.name),
      CASES.map(([name]) => name),
    );
  });

  for (const [name, good, parsed, bad] of CASES) {
    test(`${name}: parsed, and refused naming the variable`, () => {
      const variable = ENVIRONMENT_VARIABLES.find((v) => v.name === name);
      assert.ok(variable);
      // Alone in the environment, it sets its option.
      assert.deepEqual(readSetting({ [name]: good }, variable.option), {
        value: parsed,
        variable: name,
      });
      assert.throws(() => readSetting({ [name]: bad }, variable.option), {
        code: 'EINVALIDOPTION',
        message: new RegExp(name),
      });
      if (variable.flag !== undefined) {
        assert.deepEqual(parseSetting(variable.option, good, variable.flag), parsed);
        assert.throws(() => parseSetting(variable.option, bad, variable.flag ?? ''), {
          message: new RegExp(variable.flag),
        });
      }
    });
  }

  test('an empty variable is unset; the first of two for one option wins', () => {
    assert.equal(readSetting({ RSESSION_PROXY_TIMEOUT: '' }, 'timeout'), undefined);
    assert.deepEqual(readSetting({ RSESSION_PROXY_TIMEOUT: '', RSERVER_TIMEOUT: '9' }, 'timeout'), {
      value: 9000,
      variable: 'RSERVER_TIMEOUT',
    });
    assert.equal(
      readSetting({ RSESSION_PROXY_TIMEOUT: '2', RSERVER_TIMEOUT: '9' }, 'timeout')?.value,
      2000,
    );
    assert.equal(
      readSetting({ RSESSION_PROXY_R: '/a/R', RSTUDIO_WHICH_R: '/b/R' }, 'r')?.value,
      '/a/R',
    );
  });

  test('readEnvironment: one scope at a time', () => {
    const env = Object.fromEntries(CASES.map(([name, good]) => [name, good]));
    assert.deepEqual(Object.keys(readEnvironment(env, 'serve')).sort(), [
      'allowHosts',
      'idleTimeout',
      'listen',
      'prefix',
      'token',
      'tokenFile',
    ]);
    assert.deepEqual(readEnvironment(env, 'cli'), { logFormat: 'json', demo: 'auto' });
    assert.deepEqual(readEnvironment({}, 'launch'), {});
  });
});

describe('every normalizer honours the table; options win', () => {
  test('instance: RSESSION_PROXY_INSTANCE, but never for an instance bound to a given socket', () => {
    const env = { RSESSION_PROXY_INSTANCE: 'from-env' };
    assert.equal(normalizeInstanceOptions({ env }).name, 'from-env');
    assert.equal(normalizeInstanceOptions({ env, instance: 'given' }).name, 'given');
    assert.match(normalizeInstanceOptions({ env, socketPath: '/tmp/x/s.sock' }).name, /^s-/);
  });

  test('launch: R, timeout, frame origin, thread pool and isolation', () => {
    const env = {
      RSESSION_PROXY_R: '/opt/R/bin/R',
      RSERVER_TIMEOUT: '12',
      JUPYTER_RSESSION_PROXY_WWW_FRAME_ORIGIN: 'none',
      JUPYTER_RSESSION_PROXY_THREAD_POOL_SIZE: '3',
      RSESSION_PROXY_ISOLATION: 'password',
    };
    const fromEnv = normalizeLaunchOptions({ env });
    assert.equal(fromEnv.r, '/opt/R/bin/R');
    assert.equal(fromEnv.timeout, 12_000);
    assert.equal(fromEnv.frameOrigin, 'none');
    assert.equal(fromEnv.threadPoolSize, 3);
    assert.equal(fromEnv.isolation, 'password');
    const given = normalizeLaunchOptions({
      env,
      r: '/usr/bin/R',
      timeout: 1000,
      frameOrigin: 'same',
      threadPoolSize: 2,
      isolation: 'socket',
    });
    assert.deepEqual(
      [given.r, given.timeout, given.frameOrigin, given.threadPoolSize, given.isolation],
      ['/usr/bin/R', 1000, 'same', 2, 'socket'],
    );
  });

  test('serve: listener, prefix, token, allowed hosts, idle timeout', () => {
    const env = {
      RSESSION_PROXY_LISTEN: 'unix:/tmp/rsp-me/front.sock',
      RSESSION_PROXY_PREFIX: '/r/',
      RSESSION_PROXY_TOKEN: TOKEN,
      RSESSION_PROXY_ALLOW_HOSTS: 'a.example',
      RSESSION_PROXY_IDLE_TIMEOUT: '2',
      RSESSION_PROXY_TIMEOUT: '7',
    };
    const fromEnv = normalizeServeOptions({ env });
    assert.deepEqual(fromEnv.listen, { path: '/tmp/rsp-me/front.sock' });
    assert.equal(fromEnv.prefix, '/r/');
    assert.equal(fromEnv.supervisor.rootPath, '/r/');
    assert.deepEqual(fromEnv.token, { from: 'value', token: TOKEN });
    assert.deepEqual(fromEnv.allowHosts, ['a.example']);
    assert.equal(fromEnv.idleTimeout, 120_000);
    assert.equal(normalizeLaunchOptions(fromEnv.supervisor).timeout, 7000);

    const given = normalizeServeOptions({
      env,
      listen: { host: '127.0.0.1', port: 0 },
      prefix: '/',
      tokenFile: '/tmp/rsp-me/token',
      allowHosts: [],
      idleTimeout: 0,
    });
    assert.deepEqual(given.listen, { host: '127.0.0.1', port: 0 });
    assert.equal(given.prefix, '/');
    assert.deepEqual(given.token, { from: 'file', path: '/tmp/rsp-me/token' });
    assert.deepEqual(given.allowHosts, []);
    assert.equal(given.idleTimeout, 0);
  });

  test('serve: the token one way only', () => {
    assert.throws(() => normalizeServeOptions({ token: TOKEN, tokenFile: '/x' }), {
      code: 'EINVALIDOPTION',
      message: /cannot be combined/,
    });
    assert.throws(
      () =>
        normalizeServeOptions({
          env: { RSESSION_PROXY_TOKEN: TOKEN, RSESSION_PROXY_TOKEN_FILE: '/x' },
        }),
      { message: /RSESSION_PROXY_TOKEN and RSESSION_PROXY_TOKEN_FILE are both set/ },
    );
    // An option, even `false`, makes both variables irrelevant.
    assert.deepEqual(
      normalizeServeOptions({
        token: false,
        env: { RSESSION_PROXY_TOKEN: TOKEN, RSESSION_PROXY_TOKEN_FILE: '/x' },
      }).token,
      { from: 'none' },
    );
  });
});

describe('the CLI: doctor sees what serve sees, flags win', () => {
  const { root, env } = makeCliEnv();

  test('doctor honours RSESSION_PROXY_INSTANCE, RSESSION_PROXY_R and RSESSION_PROXY_TOKEN_FILE', async () => {
    const tokenFile = join(root, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o644 });
    const result = await runCli(['doctor', '--json'], {
      ...env,
      RSESSION_PROXY_RSERVER: RSERVER_DOUBLE,
      RSESSION_PROXY_R: FAKE_R,
      RSESSION_PROXY_INSTANCE: 'from-env',
      RSESSION_PROXY_TOKEN_FILE: tokenFile,
    });
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      checks: { name: string; ok: boolean; detail: string }[];
    };
    const check = (name: string) => report.checks.find((c) => c.name === name);
    assert.equal(check('R found')?.detail, FAKE_R);
    assert.match(check('instance directory private')?.detail ?? '', /\/from-env /);
    assert.equal(check('token file')?.ok, false, 'a token file others can read is refused');
    assert.match(check('token file')?.detail ?? '', /its mode is 0644/);
    assert.equal(result.code, 1);

    const flags = await runCli(['doctor', '--json', '--instance=from-flag', `--r=${FAKE_R}`], {
      ...env,
      RSESSION_PROXY_RSERVER: RSERVER_DOUBLE,
      RSESSION_PROXY_INSTANCE: 'from-env',
    });
    assert.equal(flags.code, 0, flags.stdout);
    assert.match(flags.stdout, /\/from-flag /);
  });

  test('a bad variable is a usage error naming it, for every command that reads it', async () => {
    for (const argv of [['serve'], ['doctor'], ['stop']]) {
      const result = await runCli(argv, { ...env, RSESSION_PROXY_INSTANCE: 'a b' });
      assert.equal(result.code, 2, `${argv[0]}: ${result.stderr}`);
      assert.match(result.stderr, /^RSESSION_PROXY_INSTANCE="a b" is not valid/);
    }
  });
});

test('docs/cli.md lists exactly the variables of the table, with their flags', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'cli.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Environment'));
  const rows = [...section.matchAll(/^\| `([A-Z_]+)` +\| ([^|]*)\|/gm)].map(([, name, flag]) => [
    name,
    /`(--[a-z-]+)/.exec(flag ?? '')?.[1],
  ]);
  assert.deepEqual(
    rows,
    ENVIRONMENT_VARIABLES.map((v) => [v.name, v.flag]),
  );
});

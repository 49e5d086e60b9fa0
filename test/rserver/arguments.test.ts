import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  INSTANCE_MARKER,
  buildRServerArgs,
  buildRServerEnv,
  parseHelpOptions,
  type RServerArgsInput,
} from '../../lib/index.js';

// Excerpts in the format of rserver's --help (Boost.program_options, descriptions at col 40).
const line = (option: string, rest = 'arg') => `  --${option} ${rest}`.padEnd(40) + 'Description.';
const help = (...options: string[]) =>
  [
    'server:',
    ...options.map((o) => line(o)),
    '',
    '  --help                                print help',
  ].join('\n') + '\n                                        --continuation-not-an-option\n';

const FULL_2024_12 = help(
  'server-user',
  'server-daemonize',
  'server-data-dir',
  'www-address',
  'www-port',
  'www-socket',
  'www-root-path',
  'www-thread-pool-size',
  'www-verify-user-agent',
  'www-frame-origin',
  'rsession-which-r',
  'database-config-file',
  'auth-none',
  'secure-cookie-key-file',
);
const MINIMAL_2024_12 = help('server-user', 'www-socket', 'auth-none');
const OLD_2023_12 = help(
  'server-user',
  'server-daemonize',
  'server-data-dir',
  'www-address',
  'www-port',
  'www-root-path',
  'auth-none',
  'auth-pam-helper-path',
  'auth-encrypt-password',
  'auth-minimum-user-id',
);

const socketPath = '/run/user/1000/rsession-proxy/default/rserver.sock';
const helper = '/run/user/1000/rsession-proxy/default/sign-in-helper';
const input: RServerArgsInput = {
  listen: { socketPath },
  uid: 988,
  rootPath: '/user/alice/rstudio/',
  user: 'alice',
  dataDir: '/run/user/1000/rsession-proxy/default/data',
  databaseConfigFile: '/run/user/1000/rsession-proxy/default/database.conf',
  cookieKeyFile: '/home/alice/.local/share/rsession-proxy/instances/default/secure-cookie-key',
  frameOrigin: 'same',
};

describe('parseHelpOptions', () => {
  test('lists option names at the start of lines, not in wrapped descriptions', () => {
    const options = parseHelpOptions(FULL_2024_12);
    assert.ok(options.has('www-socket'));
    assert.ok(options.has('help'));
    assert.ok(!options.has('continuation-not-an-option'));
    assert.equal(options.size, 15);
  });
});

describe('buildRServerArgs', () => {
  const cases: {
    name: string;
    help: string;
    input?: Partial<RServerArgsInput>;
    expected?: string[];
    code?: string;
  }[] = [
    {
      name: '2024.12 with every optional flag',
      help: FULL_2024_12,
      input: { r: '/opt/R/4.4/bin/R', threadPoolSize: 4, extraArgs: ['--rsession-config-file=/x'] },
      expected: [
        `--www-socket=${socketPath}`,
        '--auth-none=1',
        '--server-user=alice',
        '--server-daemonize=0',
        '--www-verify-user-agent=0',
        '--www-frame-origin=same',
        '--www-root-path=/user/alice/rstudio/',
        `--server-data-dir=${input.dataDir}`,
        `--database-config-file=${input.databaseConfigFile}`,
        `--secure-cookie-key-file=${input.cookieKeyFile}`,
        '--rsession-which-r=/opt/R/4.4/bin/R',
        '--www-thread-pool-size=4',
        '--rsession-config-file=/x',
      ],
    },
    {
      name: '2024.12 without R or a thread pool size given: those flags are left out',
      help: FULL_2024_12,
      expected: [
        `--www-socket=${socketPath}`,
        '--auth-none=1',
        '--server-user=alice',
        '--server-daemonize=0',
        '--www-verify-user-agent=0',
        '--www-frame-origin=same',
        '--www-root-path=/user/alice/rstudio/',
        `--server-data-dir=${input.dataDir}`,
        `--database-config-file=${input.databaseConfigFile}`,
        `--secure-cookie-key-file=${input.cookieKeyFile}`,
      ],
    },
    {
      name: 'a build whose --help lacks the optional flags gets only what it lists',
      help: MINIMAL_2024_12,
      input: { r: '/usr/bin/R', threadPoolSize: 2, extraArgs: ['--x=1'] },
      expected: [`--www-socket=${socketPath}`, '--auth-none=1', '--server-user=alice', '--x=1'],
    },
    {
      name: 'a Unix socket asked of a release older than 2024.12.0 is refused',
      help: OLD_2023_12,
      code: 'ERSERVERTOOOLD',
    },
    {
      name: 'a release older than 2024.12.0 on a TCP port, with the sign-in helper and no RSA',
      help: OLD_2023_12,
      input: { listen: { address: '127.0.0.1', port: 8787 }, signInHelper: helper },
      expected: [
        '--www-address=127.0.0.1',
        '--www-port=8787',
        '--auth-none=0',
        `--auth-pam-helper-path=${helper}`,
        '--auth-encrypt-password=0',
        '--auth-minimum-user-id=988',
        '--server-user=alice',
        '--server-daemonize=0',
        '--www-root-path=/user/alice/rstudio/',
        `--server-data-dir=${input.dataDir}`,
      ],
    },
    {
      name: 'the sign-in helper where --help lists neither --auth-encrypt-password nor the minimum uid',
      help: MINIMAL_2024_12,
      input: { signInHelper: helper },
      expected: [
        `--www-socket=${socketPath}`,
        '--auth-none=0',
        `--auth-pam-helper-path=${helper}`,
        '--server-user=alice',
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const build = () => buildRServerArgs({ ...input, ...c.input }, parseHelpOptions(c.help));
      if (c.code) {
        assert.throws(build, (error: Error & { code?: string }) => {
          assert.equal(error.code, c.code);
          assert.match(error.message, /2024\.12\.0/);
          assert.match(error.message, /network namespace/);
          return true;
        });
      } else {
        assert.deepEqual(build(), c.expected);
      }
    });
  }
});

describe('buildRServerEnv', () => {
  test('RSTUDIO_CONFIG_DIR when a private configuration directory is given', () => {
    const env = buildRServerEnv(
      { PATH: '/bin', RSTUDIO_CONFIG_DIR: '/site' },
      { user: 'alice', marker: '/run/x/default', configDir: '/run/x/default/etc' },
    );
    assert.equal(env.RSTUDIO_CONFIG_DIR, '/run/x/default/etc');
  });

  test("keeps the parent's, sets USER, RS_LOGGER_TYPE and the marker, drops the token", () => {
    const env = buildRServerEnv(
      { PATH: '/bin', USER: 'root', HOME: '/home/alice', RSESSION_PROXY_TOKEN: 'secret' },
      { user: 'alice', marker: '/run/x/default' },
    );
    assert.deepEqual(env, {
      PATH: '/bin',
      HOME: '/home/alice',
      USER: 'alice',
      RS_LOGGER_TYPE: 'stderr',
      [INSTANCE_MARKER]: '/run/x/default',
    });
  });
});

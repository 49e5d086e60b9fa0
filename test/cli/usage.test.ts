import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { main } from '../../bin/cli/main.js';
import { runCli, makeCliEnv } from '../helpers/cli.js';

const { env } = makeCliEnv();

function sink(): Writable & { text: string } {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stream.text += chunk.toString();
      callback();
    },
  }) as Writable & { text: string };
  stream.text = '';
  return stream;
}

// Runs the command in-process (NUL cannot travel through a real argv) and returns its exit code
// and what it wrote.
async function run(
  argv: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await main(argv, {
    stdin: Readable.from([]),
    stdout,
    stderr,
    env: { ...env, ...extraEnv },
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const HOSTILE: Record<string, string> = {
  empty: '',
  blank: '   ',
  'too long': `/${'a'.repeat(5000)}`,
  'parent path': '../',
  newline: '/tmp/a\nb',
  NUL: '/tmp/a\0b',
};

// Each flag with the values it must refuse besides the hostile ones (wrong types).
const FLAGS: Record<string, { commands: string[]; wrong: string[] }> = {
  socket: { commands: ['exec', 'stop'], wrong: ['rstudio.sock', '/tmp/../etc/x.sock'] },
  'root-path': { commands: ['exec'], wrong: ['/a/../b/', '/a b/', '/a?b'] },
  rserver: { commands: ['exec', 'serve', 'slurm', 'doctor'], wrong: ['rserver', './rserver'] },
  r: { commands: ['exec', 'serve', 'slurm', 'doctor'], wrong: ['R'] },
  timeout: {
    commands: ['exec', 'serve', 'slurm'],
    wrong: ['abc', '-1', '0', '1e9', '5s', '99999'],
  },
  'runtime-dir': {
    commands: ['exec', 'serve', 'slurm', 'status', 'stop', 'doctor'],
    wrong: ['run', '/tmp/./x'],
  },
  'log-format': { commands: ['exec', 'serve', 'slurm'], wrong: ['xml', 'JSON'] },
  listen: {
    commands: ['serve', 'slurm'],
    wrong: ['8787', 'unix:rel.sock', 'unix:/a/../b', 'host:99999', 'http://x:1', ':8787'],
  },
  prefix: { commands: ['serve', 'slurm'], wrong: ['/a/../b', '/a#b', '/%2e%2e/'] },
  token: {
    commands: ['serve', 'slurm'],
    wrong: ['short', 'has space in it 1234567890', 'ünicode-ünicode-ünicode'],
  },
  'token-file': { commands: ['serve', 'slurm'], wrong: ['token.txt'] },
  instance: {
    commands: ['serve', 'slurm', 'stop', 'doctor'],
    wrong: ['.', '..', '../x', 'a/b', 'x'.repeat(33), 'a b'],
  },
  'idle-timeout': { commands: ['serve', 'slurm'], wrong: ['never', '-5', '0', '1e12'] },
  'allow-host': { commands: ['serve', 'slurm'], wrong: ['evil.example/path', 'a b', 'host:80'] },
  'slurm-job': { commands: ['exec'], wrong: ['job-dir', '/tmp/../x'] },
};

describe('usage errors: exit 2 with one line saying what is wrong', () => {
  for (const [flag, { commands, wrong }] of Object.entries(FLAGS)) {
    const values: [string, string][] = [
      ...Object.entries(HOSTILE),
      ...wrong.map((v): [string, string] => [v, v]),
    ];
    for (const command of commands) {
      test(`${command} --${flag}`, async () => {
        for (const [label, value] of values) {
          const result = await run([command, `--${flag}=${value}`]);
          assert.equal(result.code, 2, `${command} --${flag}=${label}: ${result.stderr}`);
          const lines = result.stderr.trimEnd().split('\n');
          assert.equal(lines.length, 1, `one line for ${label}: ${result.stderr}`);
          assert.match(
            result.stderr,
            new RegExp(
              `--${flag}|${flag.replace('-', ' ')}|token|instance name|listener|rootPath`,
              'i',
            ),
            label,
          );
        }
      });
    }
  }

  const other: [string, string[], RegExp, NodeJS.ProcessEnv?][] = [
    ['no command', [], /Usage:/],
    ['unknown command', ['launch'], /unknown command "launch"/],
    ['unknown flag', ['serve', '--port=8787'], /unknown option --port/],
    ['missing value', ['exec', '--socket'], /--socket needs a value/],
    ['value for a switch', ['serve', '--no-token=yes'], /--no-token does not take a value/],
    ['stray argument', ['status', 'now'], /unexpected argument now/],
    ['exec without --socket', ['exec'], /--socket=PATH is required/],
    [
      'exec with a socket and a Slurm job',
      ['exec', '--socket=/tmp/x/s.sock', '--slurm-job=/tmp/x'],
      /--slurm-job chooses the socket on the node itself/,
    ],
    ['exec --slurm-job outside a job', ['exec', '--slurm-job=/tmp/x'], /SLURM_JOB_ID is not set/],
    ['slurm with --wrap', ['slurm', '--', '--wrap=sleep 1'], /--wrap cannot be used here/],
    ['slurm with --array', ['slurm', '--', '--array=1-4'], /--array cannot be used here/],
    ['slurm --demo', ['slurm', '--demo'], /unknown option --demo/],
    [
      'two token sources',
      ['serve', '--no-token', '--token=abcdefghijklmnop1234'],
      /cannot be combined/,
    ],
    [
      'bad RSESSION_PROXY_TIMEOUT',
      ['exec', '--socket=/tmp/x/s.sock'],
      /^Expected RSESSION_PROXY_TIMEOUT to be a number of seconds/,
      { RSESSION_PROXY_TIMEOUT: 'soon' },
    ],
    [
      'bad RSERVER_TIMEOUT',
      ['exec', '--socket=/tmp/x/s.sock'],
      /RSERVER_TIMEOUT/,
      { RSERVER_TIMEOUT: '-3' },
    ],
    [
      'bad RSESSION_PROXY_LISTEN',
      ['serve'],
      /Invalid listener/,
      { RSESSION_PROXY_LISTEN: '0.0.0.0' },
    ],
    [
      'extra argument overriding the socket',
      ['exec', '--socket=/tmp/rsp-none/s.sock', '--', '--www-socket=/tmp/x'],
      /would override --www-socket/,
    ],
  ];
  for (const [name, argv, message, extraEnv] of other) {
    test(name, async () => {
      const result = await run(argv, extraEnv);
      assert.equal(result.code, 2, result.stderr);
      assert.match(`${result.stdout}${result.stderr}`, message);
    });
  }

  test('through a real process: exit code 2 and the line on stderr', async () => {
    const result = await runCli(['serve', '--listen=nowhere'], env);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^--listen="nowhere" is not valid: Invalid listener "nowhere"/);
  });

  test('--help and --version', async () => {
    for (const command of ['exec', 'serve', 'slurm', 'status', 'stop', 'doctor']) {
      const help = await run([command, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^Usage: rsession-proxy ${command}`));
    }
    const version = await run(['--version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

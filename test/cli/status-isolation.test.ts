// `status` says which isolation keeps other users away from a running RStudio, as text and as
// JSON: for an rserver without --www-socket served with --isolation=namespace, and with
// --isolation=password, once the first request has started it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeCliEnv, runCli, serveDoubleArgs, startCli } from '../helpers/cli.js';
import { waitUntil } from '../helpers/proc.js';
import { makeVariantWriter } from '../helpers/rserver-double.js';
import { signIn } from '../helpers/served.js';

const { root, env } = makeCliEnv();
const variant = makeVariantWriter(root);
const OLD = { RSERVER_DOUBLE_RELEASE: '2024.04.2+764' };

interface ListedInstance {
  instance: string;
  running: boolean;
  isolation: string | null;
}

// The instance as `status --json` lists it.
async function listed(instance: string): Promise<ListedInstance | undefined> {
  const status = await runCli(['status', '--json'], env);
  assert.equal(status.code, 0, status.stderr);
  const { instances } = JSON.parse(status.stdout) as { instances: ListedInstance[] };
  return instances.find((i) => i.instance === instance);
}

// The lines `status` prints for the instance: its own, then its indented details.
async function statusLines(instance: string): Promise<string[]> {
  const status = await runCli(['status'], env);
  assert.equal(status.code, 0, status.stderr);
  const lines = status.stdout.split('\n');
  const first = lines.findIndex((line) => line.startsWith(`${instance} (serve): `));
  assert.ok(first >= 0, status.stdout);
  const rest = lines.slice(first + 1);
  const end = rest.findIndex((line) => !line.startsWith('  '));
  return [lines[first] ?? '', ...rest.slice(0, end < 0 ? rest.length : end)];
}

describe('rsession-proxy status: the isolation in force', () => {
  const cases: [string, RegExp][] = [
    ['namespace', /^namespace: rserver listens on 127\.0\.0\.1 in a network namespace of its own/],
    ['password', /^password: rserver listens on a port of 127\.0\.0\.1 that every user/],
  ];
  for (const [level, description] of cases) {
    test(`serve --isolation=${level} of an rserver without --www-socket`, async () => {
      const instance = `iso-${level}`;
      const serve = await startCli(
        serveDoubleArgs({
          rserver: await variant(OLD),
          args: [`--instance=${instance}`, `--isolation=${level}`],
        }),
        env,
      );
      try {
        // The first request starts rserver; the sign-in made for the browser shows it runs.
        await signIn(serve);
        let found: ListedInstance | undefined;
        await waitUntil(
          async () => (found = await listed(instance))?.isolation != null,
          10_000,
          `status --json to list the isolation of ${instance}`,
        );
        assert.equal(found?.running, true);
        assert.match(found.isolation ?? '', description);

        const lines = await statusLines(instance);
        assert.match(lines[0] ?? '', /: running, rserver running$/, lines.join('\n'));
        const isolation = lines.find((line) => line.startsWith('  isolation: '));
        assert.ok(isolation, lines.join('\n'));
        assert.match(isolation.slice('  isolation: '.length), description);
        assert.equal(isolation, `  isolation: ${found.isolation ?? ''}`);
      } finally {
        assert.equal((await serve.stop()).code, 0, serve.stderr());
      }
    });
  }
});

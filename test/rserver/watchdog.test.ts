// The watchdog, where rserver cannot have a PID namespace: when the process that started it
// dies (SIGKILL: nothing of its own cleanup runs), every process of this user carrying the
// instance marker gets SIGTERM, then SIGKILL; nothing else is touched, and a released watchdog
// just goes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readInstanceProcesses } from '../helpers/leftovers.js';
import { waitForExit, waitForLine, waitUntil } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { asUser, isRoot, notRootReason, useUsers } from '../helpers/users.js';

const root = makeTempDir('rsp-watchdog-');
const fixture = join(import.meta.dirname, '..', 'fixtures', 'run-watchdog.js');
const started = new Set<ChildProcess>();
let instances = 0;

// Whatever a failed test left running (each is a process group of its own).
after(() => {
  for (const child of started) {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // gone
    }
  }
});

// A shell that writes `TERM` to `record` when it gets SIGTERM, then exits; prints `up` first.
function recorderScript(record: string): string {
  return `trap 'echo TERM > ${record}; exit 0' TERM; echo up; while :; do sleep 0.05; done`;
}

// Runs `argv` (default: the recorder as this user) in a process group of its own.
function startRecorder(
  record: string,
  env: NodeJS.ProcessEnv,
  argv: [string, string[]] = ['/bin/sh', ['-c', recorderScript(record)]],
): ChildProcess {
  const child = spawn(argv[0], argv[1], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  started.add(child);
  return child;
}

// The watchdog the fixture started: its child running the watchdog script.
function findWatchdog(parent: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      if (ppid === parent && cmdline.includes('rsession-proxy-watchdog')) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function newInstance(): { dir: string; marker: string } {
  const dir = join(root, `instance-${++instances}`);
  return { dir, marker: `RSESSION_PROXY_MARKER=${dir}` };
}

// The fixture supervisor, once its watchdog runs.
async function startSupervisor(marker: string): Promise<{ child: ChildProcess; watchdog: number }> {
  const child = spawn(process.execPath, [fixture, marker], { stdio: ['pipe', 'pipe', 'ignore'] });
  started.add(child);
  await waitForLine(child, /^ready$/);
  let watchdog: number | undefined;
  await waitUntil(
    () => (watchdog = findWatchdog(child.pid ?? 0)) !== undefined,
    5000,
    'the watchdog to start',
  );
  return { child, watchdog: watchdog ?? 0 };
}

describe('the watchdog', () => {
  test('its supervisor SIGKILLed: the marked processes get SIGTERM and are gone; others stay', async () => {
    const { dir, marker } = newInstance();
    const record = join(root, 'marked-record');
    const marked = startRecorder(record, { RSESSION_PROXY_MARKER: dir });
    const unmarked = startRecorder(join(root, 'unmarked-record'), {});
    await Promise.all([waitForLine(marked, /^up$/), waitForLine(unmarked, /^up$/)]);
    const { child } = await startSupervisor(marker);

    child.kill('SIGKILL');
    await waitUntil(() => readInstanceProcesses(dir).length === 0, 5000, 'the marked to end');
    assert.equal(readFileSync(record, 'utf8'), 'TERM\n', 'SIGTERM first');
    assert.equal(unmarked.exitCode, null, 'an unmarked process is left alone');
  });

  test('released: it exits at once and ends nothing', async () => {
    const { dir, marker } = newInstance();
    const marked = startRecorder(join(root, 'kept-record'), { RSESSION_PROXY_MARKER: dir });
    await waitForLine(marked, /^up$/);
    const { child, watchdog } = await startSupervisor(marker);
    child.stdin?.write('release\n');
    await waitForLine(child, /^released$/);
    await waitUntil(
      () => findWatchdog(child.pid ?? 0) !== watchdog,
      5000,
      'the released watchdog to exit',
    );
    child.kill('SIGKILL');
    await waitForExit(child);
    assert.equal(marked.exitCode, null, 'the marked process still runs');
    assert.ok(readInstanceProcesses(dir).some((p) => p.pid === marked.pid));
  });

  describe(
    'another user’s process with the same marker',
    { skip: isRoot ? false : notRootReason },
    () => {
      const users = useUsers('other');
      test('is not signalled, even by a watchdog running as root', async () => {
        const { dir, marker } = newInstance();
        const record = join(makeTempDir('rsp-watchdog-other-'), 'record');
        const argv = asUser(users.other, '/bin/sh', ['-c', recorderScript(record)], {
          RSESSION_PROXY_MARKER: dir,
        });
        const theirs = startRecorder(record, {}, argv);
        await waitForLine(theirs, /^up$/);
        const mine = startRecorder(join(root, 'mine-record'), { RSESSION_PROXY_MARKER: dir });
        await waitForLine(mine, /^up$/);
        const { child } = await startSupervisor(marker);

        child.kill('SIGKILL');
        // A process that ended between the listing and the stat has no owner any more.
        const owner = (pid: number) => statSync(`/proc/${pid}`, { throwIfNoEntry: false })?.uid;
        await waitUntil(
          () =>
            readInstanceProcesses(dir).every((p) =>
              [undefined, users.other.uid].includes(owner(p.pid)),
            ),
          5000,
          'mine to end',
        );
        assert.ok(readInstanceProcesses(dir).length > 0, 'the other user’s process is still there');
        assert.equal(existsSync(record), false, 'and it got no SIGTERM');
        // Gone before the user is removed.
        process.kill(-(theirs.pid ?? 0), 'SIGKILL');
        await waitUntil(() => readInstanceProcesses(dir).length === 0, 5000, 'theirs to end');
      });
    },
  );
});

// launchRServer run by another Unix user (test/fixtures/launch-rserver in a process of its
// own, through setpriv): the launch an ordinary user makes, driven and observed by the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Isolation, LaunchOptions } from '../../lib/index.js';
import { fixturePath } from './as-user.js';
import { execAsUser, type TestUser } from './users.js';

/** What the launch said once rserver answered. */
export interface LaunchedInfo {
  pid: number;
  socketPath: string;
  dir: string;
  dataDir: string;
  isolation: Isolation;
}

export interface LaunchedAs extends LaunchedInfo {
  /** The launcher's own process (the user's, running launchRServer). */
  child: ChildProcess;
  /** One sign-in made by the launch's own agent; rserver's Set-Cookie lines. */
  signIn(): Promise<string[]>;
  /** Stops rserver and waits for the launcher to exit; safe to call twice. */
  stop(): Promise<void>;
}

interface Event {
  ready?: LaunchedInfo;
  signedIn?: { setCookie: string[] };
  error?: { code?: string; message: string; hint?: string };
  stopped?: boolean;
}

/** A launch that failed: the error's code, message and hint as the library gave them. */
export class LaunchAsError extends Error {
  readonly code: string | undefined;
  readonly hint: string | undefined;
  constructor(error: NonNullable<Event['error']>, stderr: string) {
    super(`${error.message}${stderr ? `\nstderr: ${stderr}` : ''}`);
    this.code = error.code;
    this.hint = error.hint;
  }
}

// Launches rserver as `user` with `options` (paths in them must be ones the user can reach) in
// the environment `env` (HOME, the runtime directory…); resolves once it is ready.
export function launchRServerAs(
  user: TestUser,
  options: LaunchOptions,
  env: Record<string, string>,
  timeout = 30_000,
): Promise<LaunchedAs> {
  const [command, argv] = execAsUser(
    user,
    process.execPath,
    [fixturePath('launch-rserver.js'), JSON.stringify(options)],
    env,
  );
  const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on(
    'data',
    (chunk: Buffer) => (stderr = `${stderr}${chunk.toString()}`.slice(-4000)),
  );
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const waiting: ((event: Event) => void)[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (!line.startsWith('{')) return;
    waiting.shift()?.(JSON.parse(line) as Event);
  });
  // The next event, or a rejection when the launcher ends first or takes longer than `ms`.
  const next = (ms: number) =>
    new Promise<Event>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`launcher silent for ${ms} ms: ${stderr}`)),
        ms,
      );
      waiting.push((event) => {
        clearTimeout(timer);
        resolve(event);
      });
      void closed.then(() => {
        clearTimeout(timer);
        reject(new Error(`the launcher as ${user.name} exited: ${stderr}`));
      });
    });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await closed;
      clearTimeout(timer);
    })());
  return next(timeout).then(
    (event) => {
      if (event.ready === undefined) {
        void stop();
        throw event.error
          ? new LaunchAsError(event.error, stderr)
          : new Error(JSON.stringify(event));
      }
      return {
        ...event.ready,
        child,
        stop,
        signIn: async () => {
          const answer = next(30_000);
          child.stdin.write('sign-in\n');
          const signed = await answer;
          if (signed.signedIn === undefined) {
            throw new Error(`sign-in as ${user.name}: ${JSON.stringify(signed)}`);
          }
          return signed.signedIn.setCookie;
        },
      };
    },
    async (error: unknown) => {
      child.kill('SIGKILL');
      await closed;
      throw error;
    },
  );
}

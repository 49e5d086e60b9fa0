import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

// Resolves with the first stdout line of `child` that matches, failing after `timeout` ms or
// when the child exits first: readiness by what the process says, never by sleeping.
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeout = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!child.stdout) {
      reject(new Error('child has no stdout pipe'));
      return;
    }
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(
      () => finish(new Error(`no line matching ${pattern} within ${timeout} ms`)),
      timeout,
    );
    const onExit = (code: number | null, signal: string | null) =>
      finish(
        new Error(`process exited (code ${code}, signal ${signal}) before printing ${pattern}`),
      );
    function finish(error: Error | undefined, line?: string) {
      clearTimeout(timer);
      lines.off('line', onLine);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(line ?? '');
    }
    function onLine(line: string) {
      if (pattern.test(line)) finish(undefined, line);
    }
    lines.on('line', onLine);
    child.once('exit', onExit);
  });
}

export function waitForExit(
  child: ChildProcess,
  timeout = 10_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(
      () => reject(new Error(`process ${child.pid} still running after ${timeout} ms`)),
      timeout,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

// Starts a compiled fixture under node with piped stdio.
export function spawnFixture(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  ipc = false,
): ChildProcess {
  return spawn(process.execPath, [file, ...args], {
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

// Polls `check` until it returns true, or fails after `timeout` ms.
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeout: number,
  what: string,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeout) throw new Error(`${what}: not within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

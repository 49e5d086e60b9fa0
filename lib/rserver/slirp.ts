import { runBriefly } from './run-briefly.js';

/** slirp4netns connecting one network namespace to the outside. */
export interface Slirp {
  /** slirp4netns's pid. */
  readonly pid: number;
  /** Ends it (it exits when the pipe it watches closes); resolves when it has exited. */
  stop(): Promise<void>;
}

/** The tap device slirp4netns makes in the namespace, and the address it gives it (--configure). */
export const SLIRP_TAP = 'tap0';
export const SLIRP_ADDRESS = '10.0.2.100';
/** slirp4netns's DNS forwarder, as seen from the namespace. */
export const SLIRP_DNS = '10.0.2.3';

const sandboxSupport = new Map<string, Promise<boolean>>();

// Whether this slirp4netns can sandbox itself (a mount namespace of its own, no capabilities
// left): asked once per binary.
function supportsSandbox(slirp4netns: string): Promise<boolean> {
  let supported = sandboxSupport.get(slirp4netns);
  if (supported === undefined) {
    supported = runBriefly(slirp4netns, ['--help'], 5000).then((help) =>
      help.all.includes('--enable-sandbox'),
    );
    sandboxSupport.set(slirp4netns, supported);
  }
  return supported;
}

// The command line: the tap device configured (address, route, DNS), the largest MTU, readiness
// on fd 3, and fd 4 watched for its end (the supervisor holds the other end, so slirp4netns goes
// with it, however it dies). Nothing is forwarded into the namespace: no API socket, no ports.
export function buildSlirpArgs(pid: number, sandbox: boolean): string[] {
  return [
    '--configure',
    '--mtu=65520',
    '--ready-fd=3',
    '--exit-fd=4',
    ...(sandbox ? ['--enable-sandbox'] : []),
    String(pid),
    SLIRP_TAP,
  ];
}

// Connects the network namespace of `pid` to the outside (outbound only) and resolves once the
// tap device is up, or rejects with slirp4netns's own words when it cannot.
export async function attachSlirp(
  slirp4netns: string,
  pid: number,
  timeout = 10_000,
): Promise<Slirp> {
  const { execa } = await import('execa');
  const child = execa(slirp4netns, buildSlirpArgs(pid, await supportsSandbox(slirp4netns)), {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C meant for serve's terminal does not end it early.
    detached: true,
    reject: false,
    cleanup: false,
    forceKillAfterDelay: false,
    buffer: false,
    verbose: 'none',
  });
  child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void child.catch(() => undefined);
  let said = '';
  child.stderr.on('data', (chunk: Buffer) => {
    said = `${said}${chunk.toString('utf8')}`.slice(-2000);
  });
  const ready: NodeJS.EventEmitter = child.stdio[3];
  // Only held, never written: its end is what slirp4netns watches.
  const watched: { destroy(): void } = child.stdio[4];
  // A stop holds the process until slirp4netns has gone (the child is unref()ed while it runs):
  // the timer is the reason the process lives then, and is not unref()ed.
  const stop = async () => {
    child.ref();
    watched.destroy();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 2000);
    });
    await Promise.race([exited, late]);
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const outcome = await new Promise<'ready' | 'exited' | 'timeout'>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeout);
    timer.unref();
    ready.once('data', () => resolve('ready'));
    void exited.then(() => resolve('exited'));
  }).finally(() => ready.removeAllListeners('data'));
  if (outcome !== 'ready' || child.pid === undefined) {
    await stop();
    const line =
      said
        .trim()
        .split('\n')
        .filter((text) => !/^WARNING/.test(text))
        .at(-1) ?? '';
    throw new Error(
      `slirp4netns ${outcome === 'timeout' ? 'did not configure the network in time' : 'failed'}${line ? `: ${line}` : ''}`,
    );
  }
  return { pid: child.pid, stop };
}

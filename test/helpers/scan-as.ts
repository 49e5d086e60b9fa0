// The attacker's watch over the victim's processes (test/fixtures/scan-processes), run as the
// attacker while the test makes the victim do something; what it opened, saw and caught.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fixturePath } from './as-user.js';
import { asUser, type TestUser } from './users.js';

/** What the watch found (scan-processes.ts). */
export interface ScanReport {
  passes: number;
  processesSeen: number;
  victimProcesses: number;
  /** Runs of the helper it caught, and all the processes of those runs it saw (subshells). */
  helperRuns: number;
  helperProcesses: number;
  /** `<pid> <file> (<command line>)` for each forbidden file it could open: must be none. */
  opened: string[];
  /** How the forbidden files were refused: error code → count. */
  refused: Record<string, number>;
  readable: number;
  /** `<pid> <file>` where a secret showed: must be none. */
  secretSeen: string[];
}

export interface Scan {
  /** How many runs of the helper it has caught so far. */
  helperRuns(): number;
  /** Ends the watch; its report. */
  finish(): Promise<ScanReport>;
}

// Starts the watch as `attacker` over `victim`'s processes, for `secrets`; resolves once it has
// walked /proc once.
export function startScanAs(
  attacker: TestUser,
  victim: TestUser,
  helper: string,
  secrets: readonly string[],
): Promise<Scan> {
  const [command, argv] = asUser(attacker, process.execPath, [fixturePath('scan-processes.js')]);
  const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  let helperRuns = 0;
  let report: string | undefined;
  let onScanning: (() => void) | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'scanning') onScanning?.();
    else if (line.startsWith('helper ')) helperRuns++;
    else if (line.startsWith('{')) report = line;
  });
  child.stdin.write(`${JSON.stringify({ uid: victim.uid, helper, secrets })}\n`);
  const scan: Scan = {
    helperRuns: () => helperRuns,
    finish: async () => {
      child.stdin.end();
      const code = await closed;
      if (code !== 0 || report === undefined) {
        throw new Error(`the scan as ${attacker.name} exited ${code}: ${stderr}`);
      }
      return JSON.parse(report) as ScanReport;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the scan as ${attacker.name} did not start: ${stderr}`));
    }, 15_000);
    onScanning = () => {
      clearTimeout(timer);
      resolve(scan);
    };
    void closed.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the scan as ${attacker.name} exited ${code} at once: ${stderr}`));
    });
  });
}

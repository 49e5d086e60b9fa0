import type { Supervisor } from '../../lib/index.js';
import type { Reporter } from './reporter.js';

// What keeps other users away from RStudio, said when serve starts rather than at the first
// request (which starts rserver): the level, and plainly what is weaker than a socket of its
// own. A level that cannot be had is said here too; the start then fails with the same error.
export async function reportIsolation(supervisor: Supervisor, reporter: Reporter): Promise<void> {
  try {
    const isolation = await supervisor.getIsolation();
    reporter.info(`isolation ${isolation.description}`);
    for (const warning of isolation.warnings) reporter.warn(warning);
  } catch (error) {
    reporter.warn(error instanceof Error ? error.message : String(error));
  }
}

import type { Logger } from '../logger.js';
import { findMarkedProcesses, terminateProcesses } from '../process-tree.js';
import { getInstanceMarkers } from './marker.js';

// Processes of this instance that an earlier supervisor left running when it was killed (the
// orphaned rsession of RSERVER.md §5). Called with the instance lock held — as soon as it is
// taken, so that an orphan does not wait for the next visitor, and again before each start.
export async function stopLeftovers(
  layout: { dir: string; dataDir: string },
  options: { logger?: Logger | undefined; stopTimeout: number },
): Promise<void> {
  const leftovers = findMarkedProcesses(getInstanceMarkers(layout));
  if (leftovers.length === 0) return;
  options.logger?.({
    level: 'warn',
    source: 'rsession-proxy',
    message: `stopping ${leftovers.length} process(es) an earlier run of this instance left behind: pid ${leftovers.map((entry) => entry.pid).join(', ')}`,
  });
  await terminateProcesses(leftovers, Math.min(options.stopTimeout, 2000));
}

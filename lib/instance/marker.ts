import { join } from 'node:path';

/**
 * The environment variable that marks rserver and everything it starts as one instance's: its
 * value is the instance directory, so leftovers of a killed supervisor can be found in /proc.
 */
export const INSTANCE_MARKER = 'RSESSION_PROXY_MARKER';

// The environment entries (`NAME=value`) that make a process one of this instance's. rserver
// builds rsession's environment anew from a short list (RSERVER.md §10), so the marker reaches
// rserver and what it starts itself, but not rsession: rsession and everything it starts carry
// RS_SESSION_TMP_DIR instead, which rserver points into the instance's data directory (§7).
export function getInstanceMarkers(layout: { dir: string; dataDir: string }): string[] {
  return [
    `${INSTANCE_MARKER}=${layout.dir}`,
    `RS_SESSION_TMP_DIR=${join(layout.dataDir, 'rstudio-rsession')}`,
  ];
}

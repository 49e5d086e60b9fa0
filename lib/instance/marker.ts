/**
 * The environment variable that marks rserver and everything it starts as one instance's: its
 * value is the instance directory, so leftovers of a killed supervisor can be found in /proc.
 */
export const INSTANCE_MARKER = 'RSESSION_PROXY_MARKER';

import type { IncomingMessage } from 'node:http';
import { RSessionProxyError } from '../errors.js';
import type { AdapterCore } from './core.js';
import { refuseClient, type ClientSide } from './responses.js';

// Runs the embedder's authorize hook before anything reaches rserver or starts it, for plain
// requests and upgrades alike (jupyter-server-proxy once skipped it on upgrades:
// CVE-2024-28179). Only an explicit `true` lets a request through; a throw refuses it too, and
// the client is not shown the hook's error, which goes to onError.
export async function isAuthorized(
  core: AdapterCore,
  req: IncomingMessage,
  client: ClientSide,
): Promise<boolean> {
  const { authorize } = core.options;
  if (!authorize) return true;
  let verdict: unknown;
  try {
    verdict = await authorize(req);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const error = new RSessionProxyError('EAUTHORIZE', `The authorize hook failed: ${message}`, {
      cause,
    });
    core.report(error, req);
    refuseClient(req, client, 500, {
      code: 'EAUTHORIZE',
      message: 'The authorization check failed.',
    });
    return false;
  }
  if (verdict === true) return true;
  refuseClient(req, client, 403, { message: 'You are not allowed to use this RStudio.' });
  return false;
}

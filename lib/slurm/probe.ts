import type { Duplex } from 'node:stream';
import { RSessionProxyError, isRSessionProxyError } from '../errors.js';

// Whether RStudio answers through the path every request will take (a new step, the relay on
// the node, rserver's socket): `GET /` on a connection the factory opens, any HTTP status line
// counting as an answer, as the launcher's own readiness check does. Resolves with the time to
// the first byte; fails with the step's own words (a site that forbids `--overlap`, a relay
// that cannot reach the socket).
export async function probeThroughStep(open: () => Duplex, timeout = 30_000): Promise<number> {
  const started = performance.now();
  const connection = open();
  return new Promise((resolve, reject) => {
    let answer = '';
    let firstByteMs: number | undefined;
    const timer = setTimeout(() => {
      connection.destroy(
        new RSessionProxyError(
          'ESLURM',
          `RStudio did not answer through a job step within ${Math.round(timeout / 1000)} s.`,
        ),
      );
    }, timeout);
    timer.unref();
    connection.on('data', (chunk: Buffer) => {
      firstByteMs ??= performance.now() - started;
      if (answer.length < 16) answer += chunk.toString('latin1');
    });
    connection.on('error', (error) => {
      clearTimeout(timer);
      reject(
        isRSessionProxyError(error)
          ? error
          : new RSessionProxyError('ESLURM', `A job step failed: ${error.message}`, {
              cause: error,
            }),
      );
    });
    // The relay ends once rserver has answered and closed: the whole answer has come.
    connection.on('end', () => {
      clearTimeout(timer);
      if (answer.startsWith('HTTP/1.') && firstByteMs !== undefined) resolve(firstByteMs);
      else {
        reject(
          new RSessionProxyError(
            'ESLURM',
            `RStudio's socket in the job answered something other than HTTP: ${JSON.stringify(answer)}.`,
          ),
        );
      }
    });
    // Not end(): a server may take the end of the request's stream for a client gone away.
    connection.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  });
}

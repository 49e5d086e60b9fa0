// The examples in docs/examples run as documented, against the rserver double: a token login,
// the sign-in chain under /rstudio, a WebSocket, and a clean stop on SIGTERM.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browse } from '../helpers/browser.js';
import { startDouble, type RunningDouble } from '../helpers/double-process.js';
import { fetchText } from '../helpers/fetch-text.js';
import { cookieHeader } from '../helpers/http-client.js';
import { waitForExit, waitForLine } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';
import { IDE_PAGE_TITLE } from '../fixtures/rserver/ide-page.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const TOKEN = 'example-token-0123456789';

describe('docs/examples', () => {
  const dir = makeTempDir('rsp-examples-');
  let double: RunningDouble;
  before(async () => {
    double = await startDouble(dir);
  });
  after(() => double.stop());

  // express is a devDependency: both examples always run.
  for (const file of ['adapter-http.js', 'adapter-express.js']) {
    test(file, async () => {
      const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'docs', 'examples', file)], {
        cwd: ROOT,
        env: { ...process.env, RSERVER_SOCKET: double.socketPath, PORT: '0', ACCESS_TOKEN: TOKEN },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      after(() => child.kill('SIGKILL'));
      const line = await waitForLine(child, /^RStudio: http:\/\/127\.0\.0\.1:\d+\/login\?token=/);
      const login = new URL(line.slice('RStudio: '.length));
      const origin = login.origin;

      const anonymous = await fetchText(`${origin}/rstudio/`);
      assert.equal(anonymous.status, 403);
      const { visits, jar } = await browse(login.href);
      assert.equal(visits[0]?.answer.status, 302);
      assert.equal(visits.at(-1)?.answer.status, 200);
      assert.ok((visits.at(-1)?.answer.body ?? '').includes(`<h1>${IDE_PAGE_TITLE}</h1>`));
      for (const { answer } of visits.slice(1, -1)) {
        assert.match(answer.headers.location ?? '', new RegExp(`^${origin}/rstudio/`));
      }

      const cookie = cookieHeader(jar);
      const ws = await openWebSocket(`ws://${login.host}/rstudio/p/42/terminal/1/`, [], { cookie });
      ws.send('from the example');
      assert.equal(await nextMessage(ws), 'from the example');
      await closeWebSocket(ws);

      child.kill('SIGTERM');
      const exit = await waitForExit(child, 5000);
      assert.deepEqual(exit, { code: 0, signal: null });
    });
  }
});

// Fault: rserver is SIGKILLed while 50 clients are busy through serve: 20 long polls held by
// rserver, 15 downloads half read, 15 WebSockets open. Every client must learn of it — a 502 or
// 503, or its connection closed — and none may hang; the proxy stays up, and the next requests
// are served by a new rserver.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeCliEnv, serveDoubleArgs, startCli, type RunningCli } from '../helpers/cli.js';
import { findSocketsAndLocks, markedPids } from '../helpers/leftovers.js';
import { isAlive } from '../helpers/proc.js';
import { countUnixConnections } from '../helpers/proc-usage.js';
import { waitUntil } from '../helpers/processes.js';
import { fetchServed, getServeStatus, signIn, type SignedIn } from '../helpers/served.js';
import { nextMessage, openWebSocket } from '../helpers/ws-client.js';

/** How long any client may take to learn that rserver is gone. */
const SETTLE_DEADLINE_MS = 15_000;

type Outcome = { kind: 'status'; status: number; code: string | undefined } | { kind: 'closed' };

interface Client {
  what: string;
  /** Resolves once the client is busy: a long poll sent, a download's first chunk read. */
  inFlight: Promise<void>;
  /** A download reads on (it paused after its first chunk). */
  resume(): void;
  /** How it ended; never rejects. */
  outcome: Promise<Outcome>;
}

// A request whose answer has begun (a download, paused after its first chunk until resume())
// or not (a long poll, held by rserver).
function startRequest(cli: RunningCli, signedIn: SignedIn, path: string, method: string): Client {
  let markInFlight: () => void = () => undefined;
  let resume: () => void = () => undefined;
  const inFlight = new Promise<void>((resolve) => (markInFlight = resolve));
  const outcome = new Promise<Outcome>((resolve) => {
    const req = request(`${cli.origin}${path}`, {
      method,
      headers: { ...signedIn.headers, 'content-type': 'application/json' },
      agent: false,
    });
    const closed = () => resolve({ kind: 'closed' });
    req.on('error', closed);
    req.on('response', (res) => {
      res.on('error', closed);
      if (res.statusCode === 200) {
        res.once('data', () => {
          res.pause();
          resume = () => res.resume();
          markInFlight();
        });
        res.on('close', closed);
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const code = /"code":"(\w+)"/.exec(Buffer.concat(chunks).toString())?.[1];
        resolve({ kind: 'status', status: res.statusCode ?? 0, code });
      });
    });
    req.end(method === 'POST' ? '{}' : undefined, () => {
      if (method === 'POST') markInFlight();
    });
  });
  return { what: `${method} ${path}`, inFlight, outcome, resume: () => resume() };
}

// Waits for every client to settle, failing with those still pending after the deadline.
async function settleAll(clients: Client[]): Promise<Outcome[]> {
  const pending = new Set(clients.map((client) => client.what));
  const all = Promise.all(
    clients.map((client) => client.outcome.finally(() => pending.delete(client.what))),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`still waiting after ${SETTLE_DEADLINE_MS} ms: ${[...pending].join(', ')}`),
        ),
      SETTLE_DEADLINE_MS,
    );
  });
  try {
    return await Promise.race([all, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

test('rserver SIGKILLed under 50 busy clients: each gets a 502/503 or a closed socket, then a new rserver serves', async (t) => {
  const { env, runtimeDir } = makeCliEnv();
  const cli = await startCli(serveDoubleArgs(), env);
  const signedIn = await signIn(cli);
  const before = await getServeStatus(cli);
  assert.equal(before.state, 'running');
  const oldPid = before.pid ?? 0;

  const polls = Array.from({ length: 20 }, () =>
    startRequest(cli, signedIn, '/rstudio/events/get_events', 'POST'),
  );
  const downloads = Array.from({ length: 15 }, (_, i) =>
    startRequest(cli, signedIn, `/rstudio/files/big-${i}.bin?size=${2 ** 34}`, 'GET'),
  );
  const sockets: Client[] = [];
  for (let i = 0; i < 15; i++) {
    const ws = await openWebSocket(
      `${cli.origin.replace('http', 'ws')}/rstudio/p/0badcafe/terminal/${i}/`,
      [],
      signedIn.headers,
      10_000,
    );
    ws.send(`ping ${i}`);
    assert.equal(await nextMessage(ws, 10_000), `ping ${i}`);
    const outcome = new Promise<Outcome>((resolve) =>
      ws.once('close', () => resolve({ kind: 'closed' })),
    );
    sockets.push({
      what: `WebSocket ${i}`,
      inFlight: Promise.resolve(),
      outcome,
      resume: () => undefined,
    });
  }
  await Promise.all([...polls, ...downloads].map((client) => client.inFlight));
  // Each busy client holds a connection of its own to rserver: all 50 are through.
  const rserverSocket = join(runtimeDir, 'default', 'rserver.sock');
  await waitUntil(
    () => countUnixConnections(rserverSocket) >= 50,
    10_000,
    'the 50 clients to reach rserver',
  );

  const killedAt = Date.now();
  process.kill(oldPid, 'SIGKILL');
  // A download's client reads on: what was in the pipes arrives, then the cut. (A client that
  // never reads again holds its connection, and the proxy the one to rserver, until it leaves.)
  for (const download of downloads) download.resume();
  const outcomes = await settleAll([...polls, ...downloads, ...sockets]);
  const settledMs = Date.now() - killedAt;
  assert.equal(outcomes.length, 50);
  for (const outcome of outcomes) {
    if (outcome.kind === 'closed') continue;
    assert.ok([502, 503].includes(outcome.status), JSON.stringify(outcome));
    assert.ok(['EBACKEND', 'EUNAVAILABLE'].includes(outcome.code ?? ''), JSON.stringify(outcome));
  }
  // The downloads had begun: too late for a status, their connections were cut.
  for (const outcome of outcomes.slice(20, 35)) assert.deepEqual(outcome, { kind: 'closed' });

  // The proxy is still up, and a new rserver takes the next requests.
  assert.ok(isAlive(cli.pid));
  assert.equal((await fetchServed(cli, '/rstudio/_rsession-proxy/health')).status, 200);
  await waitUntil(
    async () => (await fetchServed(cli, '/rstudio/files/after.bin?size=10')).status === 200,
    30_000,
    'a request served by a new rserver',
  );
  const recoveredMs = Date.now() - killedAt;
  const after = await getServeStatus(cli);
  const counts = new Map<string, number>();
  for (const outcome of outcomes) {
    const key = outcome.kind === 'closed' ? 'closed' : `${outcome.status} ${outcome.code ?? ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  t.diagnostic(
    `50 clients settled ${settledMs} ms after the kill: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}; a new rserver served ${recoveredMs} ms after the kill`,
  );
  assert.equal(after.state, 'running');
  assert.notEqual(after.pid, oldPid);
  assert.ok(!isAlive(oldPid));
  assert.ok(after.restarts >= 1, JSON.stringify(after));
  // The browser's cookies still work (the cookie key outlives rserver), WebSockets included.
  const ws = await openWebSocket(
    `${cli.origin.replace('http', 'ws')}/rstudio/p/0badcafe/terminal/99/`,
    [],
    signedIn.headers,
    10_000,
  );
  ws.send('again');
  assert.equal(await nextMessage(ws, 10_000), 'again');
  ws.close();

  assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
  assert.deepEqual(markedPids(join(runtimeDir, 'default')), []);
  assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
});

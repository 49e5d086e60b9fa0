// A Backend that hands the adapter a connection factory instead of a socket path, the way a
// Slurm backend hands it `srun` steps: requests, downloads and WebSockets go through whatever
// the factory opens, pooled like socket connections.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type {
  Backend,
  BackendEndpoint,
  BackendState,
  ConnectionFactory,
  RSessionProxyError,
} from '../../lib/index.js';
import { fetchText } from '../helpers/fetch-text.js';
import { closeFront, startFront, type Front } from '../helpers/front.js';
import { waitUntil } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { startTinyBackend, type TinyBackend } from '../helpers/tiny-backend.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';

/** Connections a factory opened, and how many of them have closed. */
interface Counts {
  opened: number;
  closed: number;
}

// A factory that connects to `socketPath` and counts what it opens. Each connection is a plain
// Duplex over the socket, without net.Socket's methods (setTimeout, setKeepAlive, ref), as a job
// step's pipes would be.
function countingFactory(socketPath: string, description: string) {
  const counts: Counts = { opened: 0, closed: 0 };
  const factory: ConnectionFactory = {
    description,
    connect() {
      counts.opened += 1;
      const socket = connect(socketPath);
      const relay = Duplex.from({ readable: socket, writable: socket });
      relay.once('close', () => (counts.closed += 1));
      return relay;
    },
  };
  return { counts, factory };
}

// Always running; resolves to whatever endpoint the test set last.
class FactoryBackend extends EventEmitter implements Backend {
  readonly state: BackendState = 'running';
  readonly lastError: Error | undefined = undefined;

  constructor(public endpoint: BackendEndpoint) {
    super();
  }

  ensureRunning(): Promise<BackendEndpoint> {
    return Promise.resolve(this.endpoint);
  }
}

function download(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, signal: AbortSignal.timeout(20_000) }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve(bytes));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a backend that resolves to a connection factory', () => {
  const dir = makeTempDir('rsp-factory-');
  let tiny: TinyBackend;
  let backend: FactoryBackend;
  let front: Front;
  let counts: Counts;
  const errors: RSessionProxyError[] = [];

  before(async () => {
    tiny = await startTinyBackend(dir);
    // Longer than the test waits: idle connections are closed by the adapter's pool, not by it.
    tiny.server.keepAliveTimeout = 60_000;
    const counting = countingFactory(tiny.socketPath, 'a counting relay to the tiny backend');
    counts = counting.counts;
    backend = new FactoryBackend(counting.factory);
    front = await startFront({ backend, prefix: '/rstudio', onError: (e) => errors.push(e) });
  });
  after(async () => {
    await closeFront(front);
    await tiny.close();
  });

  test('requests go through its connections, pooled', async () => {
    for (let i = 0; i < 5; i++) {
      const answer = await fetchText(`${front.origin}/rstudio/echo/${i}`);
      assert.equal(answer.status, 200);
      assert.equal((JSON.parse(answer.body) as { url: string }).url, `/echo/${i}`);
    }
    assert.equal(counts.opened, 1, 'one connection, reused');
    const size = 20 * 1024 * 1024 + 5;
    assert.equal(await download(`${front.origin}/rstudio/stream?size=${size}`), size);
  });

  test('a WebSocket goes through one of its connections, which closes with it', async () => {
    const closed = counts.closed;
    const ws = await openWebSocket(`ws://127.0.0.1:${front.port}/rstudio/p/1/terminal/`);
    try {
      ws.send('through the relay');
      assert.equal(await nextMessage(ws), 'through the relay');
    } finally {
      await closeWebSocket(ws);
    }
    await waitUntil(() => counts.closed === closed + 1, 5000, "the WebSocket's connection closed");
  });

  test('idle pooled connections are closed after the pool timeout, as sockets are', async () => {
    await fetchText(`${front.origin}/rstudio/echo`);
    await waitUntil(() => counts.closed === counts.opened, 8000, 'every connection closed');
  });

  test('a new endpoint: pooled connections to the old one are closed, not reused', async () => {
    await fetchText(`${front.origin}/rstudio/echo`);
    const old = { ...counts };
    assert.ok(old.opened > old.closed, 'a pooled connection');
    const next = countingFactory(tiny.socketPath, 'another relay');
    backend.endpoint = next.factory;
    assert.equal((await fetchText(`${front.origin}/rstudio/echo`)).status, 200);
    assert.equal(next.counts.opened, 1);
    await waitUntil(() => counts.closed === old.opened, 5000, 'the old pooled connection closed');
  });

  test('a factory that fails: 502 naming what it connects to', async () => {
    backend.endpoint = {
      description: 'srun --jobid=4242 (node017)',
      connect() {
        throw new Error('srun: error: Unable to create step');
      },
    };
    const thrown = await fetchText(`${front.origin}/rstudio/echo`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(thrown.status, 502);
    assert.match(thrown.body, /Unable to create step \(srun --jobid=4242 \(node017\)\)/);
    await assert.rejects(openWebSocket(`ws://127.0.0.1:${front.port}/rstudio/p/1/`), {
      status: 502,
    });
    backend.endpoint = countingFactory(join(dir, 'missing.sock'), 'a relay to nowhere').factory;
    const refused = await fetchText(`${front.origin}/rstudio/echo`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(refused.status, 502);
    assert.match(refused.body, /ENOENT.*\(a relay to nowhere\)/);
    assert.ok(errors.every((error) => error.code === 'EBACKEND' && error.path === undefined));
  });
});

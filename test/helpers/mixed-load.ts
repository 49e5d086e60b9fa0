// RStudio-like load on a served proxy: long polls that cycle (/events/get_events), WebSockets
// that echo (the terminal), and plain requests as fast as they are answered (downloads, RPC
// calls, the IDE page). Every answer is checked; anything unexpected counts as a failure.
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import type { SignedIn } from './served.js';
import { IDE_PAGE_TITLE } from '../fixtures/rserver/ide-page.js';

export interface MixedLoadOptions {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `/rstudio/` */
  prefix: string;
  signedIn: SignedIn;
  longPolls: number;
  websockets: number;
  /** Concurrent loops of plain requests, each sending the next as soon as one is answered. */
  httpWorkers: number;
  /** Pause between an echo and the next message on each WebSocket. */
  wsIntervalMs: number;
}

export interface LoadTally {
  http: number;
  longPolls: number;
  wsMessages: number;
  wsOpened: number;
  failures: number;
  /** The first few failures, for the assertion message. */
  failureSamples: string[];
}

export interface RunningLoad {
  readonly tally: LoadTally;
  /** Sends nothing new, waits for what is in flight, closes every WebSocket cleanly. */
  stop(): Promise<LoadTally>;
}

const DOWNLOAD_BYTES = 16 * 1024;

interface Reply {
  status: number;
  body: Buffer;
}

// One request on the agent's keep-alive connections; rejects after `timeoutMs`.
function send(
  agent: Agent,
  url: string,
  options: { method?: string; headers: Record<string, string>; body?: string; timeoutMs: number },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        method: options.method ?? 'GET',
        headers: options.headers,
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

// Starts the load and resolves once every WebSocket is open (or has failed to open).
export async function startMixedLoad(options: MixedLoadOptions): Promise<RunningLoad> {
  const { origin, prefix, signedIn } = options;
  const tally: LoadTally = {
    http: 0,
    longPolls: 0,
    wsMessages: 0,
    wsOpened: 0,
    failures: 0,
    failureSamples: [],
  };
  let stopping = false;
  const fail = (what: string, why: unknown) => {
    tally.failures += 1;
    if (tally.failureSamples.length < 10)
      tally.failureSamples.push(`${what}: ${why instanceof Error ? why.message : String(why)}`);
  };
  const httpAgent = new Agent({ keepAlive: true, maxSockets: options.httpWorkers });
  const pollAgent = new Agent({ keepAlive: true, maxSockets: options.longPolls });

  // The three kinds of plain request, in turn, each with the answer it must get.
  const checks: (() => Promise<void>)[] = [
    async () => {
      const reply = await send(
        httpAgent,
        `${origin}${prefix}files/load.bin?size=${DOWNLOAD_BYTES}`,
        {
          headers: signedIn.headers,
          timeoutMs: 30_000,
        },
      );
      const body = reply.body;
      if (
        reply.status !== 200 ||
        body.length !== DOWNLOAD_BYTES ||
        body[body.length - 1] !== (DOWNLOAD_BYTES - 1) % 251
      )
        throw new Error(`download: ${reply.status}, ${body.length} bytes`);
    },
    async () => {
      const payload = JSON.stringify({ method: 'console_input', params: ['1 + 1'] });
      const reply = await send(httpAgent, `${origin}${prefix}rpc/console_input`, {
        method: 'POST',
        headers: {
          ...signedIn.headers,
          'content-type': 'application/json',
          'x-rs-csrf-token': signedIn.csrf,
        },
        body: payload,
        timeoutMs: 30_000,
      });
      const answer = reply.status === 200 ? (JSON.parse(reply.body.toString()) as unknown) : null;
      const expected = { result: { method: 'console_input', bytes: payload.length } };
      if (JSON.stringify(answer) !== JSON.stringify(expected))
        throw new Error(`rpc: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
    },
    async () => {
      const reply = await send(httpAgent, `${origin}${prefix}`, {
        headers: { ...signedIn.headers, accept: 'text/html' },
        timeoutMs: 30_000,
      });
      if (
        reply.status !== 200 ||
        !reply.body.toString().includes(`<title>${IDE_PAGE_TITLE}</title>`)
      )
        throw new Error(`page: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
    },
  ];

  const httpLoop = async (worker: number) => {
    for (let n = worker; !stopping; n++) {
      try {
        await (checks[n % checks.length] ?? checks[0])?.();
        tally.http += 1;
      } catch (error) {
        fail('http', error);
      }
    }
  };

  const pollLoop = async () => {
    while (!stopping) {
      try {
        const reply = await send(pollAgent, `${origin}${prefix}events/get_events`, {
          method: 'POST',
          headers: { ...signedIn.headers, 'content-type': 'application/json' },
          body: '{}',
          timeoutMs: 120_000,
        });
        if (reply.status !== 200 || reply.body.toString() !== '{"result":[]}')
          throw new Error(`${reply.status} ${reply.body.toString().slice(0, 200)}`);
        tally.longPolls += 1;
      } catch (error) {
        fail('long poll', error);
      }
    }
  };

  const socketUrl = `${origin.replace(/^http/, 'ws')}${prefix}p/${randomBytes(4).toString('hex')}/terminal/`;
  const opened: Promise<void>[] = [];
  const socketLoop = (index: number) =>
    new Promise<void>((resolve) => {
      const ws = new WebSocket(`${socketUrl}${index}/`, {
        headers: signedIn.headers,
        perMessageDeflate: false,
        handshakeTimeout: 30_000,
      });
      let expected: string | undefined;
      let count = 0;
      let closing = false;
      let timer: NodeJS.Timeout | undefined;
      let markOpen: () => void = () => undefined;
      opened.push(new Promise((r) => (markOpen = r)));
      const next = () => {
        if (stopping) {
          closing = true;
          ws.close(1000);
          return;
        }
        expected = `${index}:${count++}`;
        ws.send(expected);
      };
      ws.on('open', () => {
        tally.wsOpened += 1;
        markOpen();
        next();
      });
      ws.on('unexpected-response', (_req, res) => {
        fail('websocket handshake', `HTTP ${res.statusCode}`);
        res.resume();
        ws.terminate();
      });
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        if (text === expected) tally.wsMessages += 1;
        else fail('websocket', `expected ${expected}, got ${text}`);
        expected = undefined;
        timer = setTimeout(next, options.wsIntervalMs);
      });
      ws.on('error', (error) => fail('websocket', error));
      ws.on('close', (code) => {
        clearTimeout(timer);
        markOpen();
        if (!closing) fail('websocket', `closed by the other side (${code})`);
        else if (expected !== undefined) fail('websocket', `no echo of ${expected}`);
        resolve();
      });
    });

  const loops = [
    ...Array.from({ length: options.websockets }, (_, i) => socketLoop(i)),
    ...Array.from({ length: options.longPolls }, pollLoop),
  ];
  await Promise.all(opened);
  loops.push(...Array.from({ length: options.httpWorkers }, (_, i) => httpLoop(i)));

  return {
    tally,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      httpAgent.destroy();
      pollAgent.destroy();
      return tally;
    },
  };
}

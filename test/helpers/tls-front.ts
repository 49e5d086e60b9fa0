// Real TLS fronts for tests: a self-signed certificate made with openssl, nginx and
// configurable-http-proxy started on a free port (nginx cannot listen on port 0: a port the
// kernel just gave out is taken, and taken again when someone else got it first), and a client
// that speaks https and wss with that certificate as its only authority.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { after } from 'node:test';
import WebSocket from 'ws';
import { findFreePort } from '../bench/nginx.js';
import { readReply } from './http-client.js';
import { waitForExit } from './processes.js';

/** A certificate for localhost and 127.0.0.1, and its key, in `dir`. */
export interface Certificate {
  key: string;
  cert: string;
  /** The certificate's text, the client's only trusted authority. */
  ca: string;
}

// Runs the openssl command of docs/front-proxies.md in `dir` (the test passes that line).
export function makeCertificate(dir: string, command: string): Certificate {
  const args = command.split(/\s+/).filter(Boolean);
  if (args[0] !== 'openssl') throw new Error(`not an openssl command: ${command}`);
  const made = spawnSync('openssl', args.slice(1), { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  const key = join(dir, 'key.pem');
  chmodSync(key, 0o600);
  const cert = join(dir, 'cert.pem');
  return { key, cert, ca: readFileSync(cert, 'utf8') };
}

/** Whether a program is installed (on PATH or at an absolute path). */
export function hasProgram(program: string, versionFlag = '-v'): boolean {
  return spawnSync(program, [versionFlag], { timeout: 10_000 }).error === undefined;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TlsRequest {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string;
}

// One https request on a fresh connection, the certificate checked against `ca` alone, within
// 30 s (the first request through serve starts rserver).
export function fetchTls(url: string, ca: string, options: TlsRequest = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ca,
        agent: false,
        signal: AbortSignal.timeout(30_000),
      },
      (res) =>
        void readReply(res).then(
          (reply) => resolve({ ...reply, body: reply.body.toString('utf8') }),
          reject,
        ),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

// Opens a wss:// WebSocket trusting `ca` alone; rejects with the status of a refused upgrade.
export async function openTlsWebSocket(
  url: string,
  ca: string,
  headers: Record<string, string>,
): Promise<WebSocket> {
  const ws = new WebSocket(url, { ca, headers, handshakeTimeout: 10_000 });
  const refused = new Promise<never>((_, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
    });
    ws.once('error', reject);
  });
  await Promise.race([once(ws, 'open'), refused]);
  return ws;
}

export interface RunningFront {
  port: number;
  /** https://127.0.0.1:<port> */
  origin: string;
  child: ChildProcess;
  /** What it printed, and its error log. */
  output(): string;
  stop(): Promise<void>;
}

/** serve's health endpoint with the default prefix. */
export const HEALTH_PATH = '/_rsession-proxy/health';

const running = new Set<RunningFront>();
after(async () => {
  await Promise.all([...running].map((front) => front.stop()));
});

export interface FrontLaunch {
  command: string;
  args: string[];
  /** A file the front logs to, besides its stdout and stderr. */
  log?: string | undefined;
}

const isHealthy = (reply: Reply) => reply.status === 200 && reply.body === 'ok\n';

// Starts a front on a free port and resolves once serve's health answers through it over https
// with our certificate (so a port someone else took meanwhile is not mistaken for it): `ok`,
// or what `isReady` expects; a front that exits because its port was taken is started again on
// another.
export async function startFront(
  launch: (port: number, apiPort: number) => FrontLaunch,
  ca: string,
  isReady: (reply: Reply) => boolean = isHealthy,
): Promise<RunningFront> {
  let why = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await findFreePort();
    const apiPort = await findFreePort();
    const { command, args, log } = launch(port, apiPort);
    if (log !== undefined) writeFileSync(log, '');
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const front: RunningFront = {
      port,
      origin: `https://127.0.0.1:${port}`,
      child,
      output: () => `${printed}${log === undefined ? '' : readFileSync(log, 'utf8')}`,
      stop: async () => {
        running.delete(front);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await waitForExit(child, 10_000).catch(() => child.kill('SIGKILL'));
      },
    };
    running.add(front);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && child.exitCode === null) {
      const health = await fetchTls(`${front.origin}${HEALTH_PATH}`, ca).catch(() => undefined);
      if (health !== undefined && isReady(health)) return front;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await front.stop();
    why = front.output();
    if (!/Address already in use|EADDRINUSE/.test(why)) break;
  }
  throw new Error(`the front did not start:\n${why.slice(-3000)}`);
}

export interface NginxConfigInput {
  dir: string;
  /** The main-context lines of the documentation (`user alice;`), or none. */
  main: string;
  /** The documentation's http-context block. */
  http: string;
}

// A whole nginx.conf around the documentation's blocks: its pid, logs and temporary files in
// the test's directory.
export function wrapNginxConfig({ dir, main, http }: NginxConfigInput): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `  ${name}_temp_path ${join(dir, `${name}_temp`)};`)
    .join('\n');
  return `${main}
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;
events {
  worker_connections 256;
}
http {
  access_log off;
${temp}
${http}
}
`;
}

// nginx in the foreground with a config of the test's: `-p` and `-e` keep it out of /var/log.
export function nginxLaunch(dir: string, config: string): FrontLaunch {
  const path = join(dir, 'nginx.conf');
  writeFileSync(path, config);
  const log = join(dir, 'error.log');
  return {
    command: '/usr/sbin/nginx',
    args: ['-p', `${dir}/`, '-c', path, '-e', log, '-g', 'daemon off;'],
    log,
  };
}

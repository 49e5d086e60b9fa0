import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpGet } from './http-get.js';
import { startNginx } from './nginx.js';
import { startBenchServer, startProcess, type BenchProcess } from './processes.js';
import { TINY_BODY } from './servers/backend-app.js';
import type { Tools } from './tools.js';

export const CONTENDERS = ['direct', 'nginx', 'bare', 'httpProxy', 'adapter', 'serve'] as const;
export type ContenderName = (typeof CONTENDERS)[number];

/** How the report names each contender. */
export const CONTENDER_LABELS: Record<ContenderName, string> = {
  direct: 'direct',
  nginx: 'nginx',
  bare: 'bare node:http',
  httpProxy: 'plain http-proxy',
  adapter: 'adapter',
  serve: 'serve',
};

/** One contender, running in front of a fresh backend. */
export interface Contender {
  name: ContenderName;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** What every request must carry (serve's token). */
  headers: Record<string, string>;
  /** The proxy's processes, whose memory and CPU are measured; none for direct. */
  proxyPids: number[];
  stop(): Promise<void>;
}

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const BACKEND = script('./servers/backend.js');
const ADAPTER_SERVER = script('./servers/adapter-server.js');
const BARE_PROXY = script('./servers/bare-proxy.js');
const PLAIN_HTTP_PROXY = script('./servers/plain-http-proxy.js');
const CLI = script('../../bin/rsession-proxy.js');
/** The bench's stand-in rserver: the bench backend on --www-socket. */
export const FAKE_RSERVER = script('../../../test/bench/bin/rserver');
/** The rserver test double, and its stand-in for R. */
export const RSERVER_DOUBLE = script('../../../test/fixtures/bin/rserver');
export const FAKE_R = script('../../../test/fixtures/bin/R');

// Which contenders this machine can run: all but direct's wrk figures need nothing else, and
// nginx needs nginx.
export function canRun(name: ContenderName, tools: Tools): boolean {
  return name !== 'nginx' || tools.nginx !== undefined;
}

async function startBackend(dir: string, tcp: boolean) {
  const socketPath = join(dir, 'backend.sock');
  const { process: backend, fields } = await startBenchServer(BACKEND, [
    socketPath,
    ...(tcp ? ['--tcp'] : []),
  ]);
  return { backend, socketPath, port: fields.port as number | undefined };
}

function stopAll(...processes: BenchProcess[]) {
  return async () => {
    for (const started of processes) await started.stop();
  };
}

// Starts a contender and its backend, each in a process of its own, in a fresh directory under
// `parent`, and checks that a request goes through.
export async function startContender(
  name: ContenderName,
  parent: string,
  tools: Tools,
): Promise<Contender> {
  const dir = await mkdtemp(join(parent, `${name}-`));
  const contender = await launch(name, dir, tools);
  const answer = await httpGet(`${contender.origin}/`, contender.headers);
  if (answer.status !== 200 || answer.body !== TINY_BODY) {
    await contender.stop();
    throw new Error(`${name}: GET / answered ${answer.status}: ${answer.body.slice(0, 200)}`);
  }
  return contender;
}

async function launch(name: ContenderName, dir: string, tools: Tools): Promise<Contender> {
  switch (name) {
    case 'direct': {
      const { backend, port } = await startBackend(dir, true);
      const origin = `http://127.0.0.1:${port ?? 0}`;
      return { name, origin, headers: {}, proxyPids: [], stop: stopAll(backend) };
    }
    case 'nginx': {
      if (tools.nginx === undefined) throw new Error('nginx is not installed');
      const { backend, socketPath } = await startBackend(dir, false);
      const nginx = await startNginx(tools.nginx, join(dir, 'nginx'), socketPath);
      const origin = `http://127.0.0.1:${nginx.port}`;
      return {
        name,
        origin,
        headers: {},
        proxyPids: nginx.pids,
        stop: stopAll(nginx.process, backend),
      };
    }
    case 'bare':
    case 'httpProxy':
    case 'adapter': {
      const { backend, socketPath } = await startBackend(dir, false);
      const entry = { bare: BARE_PROXY, httpProxy: PLAIN_HTTP_PROXY, adapter: ADAPTER_SERVER }[
        name
      ];
      const { process: server, fields } = await startBenchServer(entry, [socketPath]);
      const origin = `http://127.0.0.1:${String(fields.port)}`;
      return { name, origin, headers: {}, proxyPids: [server.pid], stop: stopAll(server, backend) };
    }
    case 'serve': {
      const serve = await startServe(dir, FAKE_RSERVER);
      return { name, ...serve };
    }
  }
}

export interface RunningServe {
  origin: string;
  headers: Record<string, string>;
  proxyPids: number[];
  stop(): Promise<void>;
}

// `rsession-proxy serve` as a user runs it — the built CLI, a TCP listener, token auth by header —
// with `rserver` as its rserver; rserver starts on the first request. Its state goes into `dir`.
export async function startServe(dir: string, rserver: string): Promise<RunningServe> {
  const token = randomBytes(24).toString('base64url');
  const args = [
    CLI,
    'serve',
    '--listen=127.0.0.1:0',
    `--rserver=${rserver}`,
    `--r=${FAKE_R}`,
    `--runtime-dir=${join(dir, 'run')}`,
    '--instance=bench',
  ];
  const env = {
    ...process.env,
    RSESSION_PROXY_TOKEN: token,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_STATE_HOME: join(dir, 'state'),
  };
  const { process: serve, match } = await startProcess(
    process.execPath,
    args,
    /^\s+http:\/\/127\.0\.0\.1:(\d+)\//,
    { env },
  );
  return {
    origin: `http://127.0.0.1:${match[1] ?? ''}`,
    headers: { authorization: `token ${token}` },
    proxyPids: [serve.pid],
    stop: stopAll(serve),
  };
}

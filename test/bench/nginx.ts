import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { findChildren } from './proc-stats.js';
import { spawnProcess, type BenchProcess } from './processes.js';

export interface NginxConfigInput {
  /** Where nginx keeps its pid, logs and temporary files. */
  dir: string;
  port: number | string;
  /** The backend's Unix socket. */
  socketPath: string;
  /** Set when nginx runs as root: its worker must be able to enter the private socket directory. */
  user?: string | undefined;
}

// The reference proxy, configured as its documentation says for a keep-alive upstream and for
// WebSockets, with the same work asked of it as of the adapter: one worker, upstream keep-alive
// (HTTP/1.1, `Connection: ""`), the upgrade headers passed on, X-Forwarded-* set, no access log,
// timeouts as long as the adapter's (1 h). keepalive_requests is raised on both sides because
// Node has no such limit: otherwise nginx alone would pay for reconnections every 1,000 requests.
export function renderNginxConfig(input: NginxConfigInput): string {
  const { dir } = input;
  return `# Rendered by test/bench/nginx.ts for one benchmark run.
worker_processes 1;
${input.user === undefined ? '' : `user ${input.user};\n`}pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
worker_rlimit_nofile 16384;
events {
  worker_connections 8192;
}
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy_temp')};
  fastcgi_temp_path ${join(dir, 'fastcgi_temp')};
  uwsgi_temp_path ${join(dir, 'uwsgi_temp')};
  scgi_temp_path ${join(dir, 'scgi_temp')};
  keepalive_requests 1000000;

  upstream backend {
    server unix:${input.socketPath};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 4s;
  }

  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' '';
  }

  server {
    listen 127.0.0.1:${input.port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }
  }
}
`;
}

// A port nobody listens on right now. nginx cannot listen on port 0, so the kernel picks one
// here and nginx takes it a moment later; a collision makes nginx fail, and it is retried.
export async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RunningNginx {
  port: number;
  process: BenchProcess;
  /** The master and its worker. */
  pids: number[];
  config: string;
}

// Starts nginx in the foreground on a fresh port; resolves once it proxies a request to the
// backend (an answer carrying `Server: nginx` and the backend's body, so a port someone else
// took in the meantime is not mistaken for ours).
export async function startNginx(
  nginx: string,
  dir: string,
  socketPath: string,
): Promise<RunningNginx> {
  await mkdir(dir, { recursive: true });
  const user = process.getuid?.() === 0 ? userInfo().username : undefined;
  const errorLog = join(dir, 'error.log');
  let why = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await findFreePort();
    const config = renderNginxConfig({ dir, port, socketPath, user });
    const configPath = join(dir, 'nginx.conf');
    await writeFile(configPath, config);
    await writeFile(errorLog, '');
    const master = spawnProcess(
      nginx,
      ['-p', `${dir}/`, '-c', configPath, '-e', errorLog, '-g', 'daemon off;'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && master.child.exitCode === null) {
      if (await answersAsNginx(port)) {
        const workers = findChildren(master.pid);
        if (workers.length === 1) {
          return { port, process: master, pids: [master.pid, ...workers], config };
        }
      }
      await delay(20);
    }
    await master.stop();
    why = `${master.stderr()}${await readFile(errorLog, 'utf8').catch(() => '')}`;
    if (!why.includes('Address already in use')) break;
  }
  throw new Error(`nginx did not start: ${why.trim()}`);
}

function answersAsNginx(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      const server = res.headers.server;
      resolve(res.statusCode === 200 && typeof server === 'string' && server.startsWith('nginx'));
    });
    req.setTimeout(1000, () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

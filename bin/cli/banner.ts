import type { ListenSpec } from '../../lib/index.js';

export interface BannerInput {
  listener: ListenSpec;
  /** The URL serve answers at, with the token: through the tunnel's end for a Unix listener. */
  url: string;
  /** The instance, so that the stop advice works as printed. */
  instance: string;
  /** The runtime directory when the user chose it (stop must be told it too). */
  runtimeDir: string | undefined;
  user: string;
  host: string;
}

/** What serve prints: the URL (stdout, for scripts) and how to reach and stop it (stderr). */
export interface Banner {
  stdout: string;
  /** The line after the URLs: how to stop this instance. */
  stop: string;
}

const TUNNEL_PORT = 8787;

// Quotes a word for sh when it needs it.
function quote(word: string): string {
  return /^[\w./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

// The stop command for this very instance, whatever the shell it is typed in has set.
export function formatStopCommand(input: Pick<BannerInput, 'instance' | 'runtimeDir'>): string {
  const runtimeDir =
    input.runtimeDir === undefined ? '' : ` ${quote(`--runtime-dir=${input.runtimeDir}`)}`;
  return `rsession-proxy stop --instance=${input.instance}${runtimeDir}`;
}

// The commands a user needs, each working as printed: for a Unix listener, the ssh tunnel from
// a laptop and the URL through it; for a TCP one, the URL to open here first, then the tunnel
// from another machine (to the same port, whose Host check allows localhost).
export function formatBanner(input: BannerInput): Banner {
  const { listener, url, user, host } = input;
  const stop = `rserver starts on the first request; stop with Ctrl-C or \`${formatStopCommand(input)}\``;
  if ('path' in listener) {
    return {
      stdout: [
        'From your laptop, open a tunnel to this socket (no TCP port is opened on this host):',
        `  ssh -N -L ${quote(`${TUNNEL_PORT}:${listener.path}`)} ${user}@${host}`,
        'then open:',
        `  ${url}`,
        '',
      ].join('\n'),
      stop,
    };
  }
  const tunnelled = new URL(url);
  tunnelled.host = `localhost:${TUNNEL_PORT}`;
  const target = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(listener.host);
  return {
    stdout: [
      'Open on this machine:',
      `  ${url}`,
      `From another machine (a laptop, when this is a login node), open a tunnel${loopback ? '' : ' or use the address above'}:`,
      `  ssh -N -L ${TUNNEL_PORT}:${target}:${listener.port} ${user}@${host}`,
      'then open:',
      `  ${tunnelled.href}`,
      '',
    ].join('\n'),
    stop,
  };
}

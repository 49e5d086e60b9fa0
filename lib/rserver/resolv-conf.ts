import { SLIRP_DNS } from './slirp.js';

/** What the nameserver lines of resolv.conf name, by the address. */
const NAMESERVER = /^\s*nameserver\s+(\S+)/;

// An address the network namespace cannot reach: its loopback is its own.
function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}

// The resolv.conf rserver's namespace needs when the host's names only resolvers on the host's
// loopback (systemd-resolved's 127.0.0.53, a local dnsmasq), which are out of the namespace's
// reach: slirp4netns's forwarder instead, the rest (search, options) kept. Undefined when the
// host's resolv.conf will do.
export function rewriteResolvConf(text: string): string | undefined {
  const lines = text.split('\n');
  const servers = lines.flatMap((line) => NAMESERVER.exec(line)?.[1] ?? []);
  if (servers.length > 0 && !servers.every(isLoopback)) return undefined;
  const kept = lines.filter((line) => !NAMESERVER.test(line) && line.trim() !== '');
  return [`nameserver ${SLIRP_DNS}`, ...kept, ''].join('\n');
}

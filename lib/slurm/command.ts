import { fileURLToPath } from 'node:url';

// The argv that runs this very rsession-proxy on a compute node: this Node.js and this
// package's command, by absolute path. Sites install software on a file system every node
// mounts at the same path (or users install it in their home directory), so what runs here
// runs there. The path holds from the CLI's bundle too (dist/bin/cli/main.js, two levels below
// dist/ as this file is).
export function getDefaultNodeCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL('../../bin/rsession-proxy.js', import.meta.url))];
}

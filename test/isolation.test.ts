// The promise, with real Unix accounts: another user on the host cannot reach the owner's
// RStudio, and the traps they can set before the owner starts make the start refuse loudly
// instead of handing them anything. Run as root (CI): throw-away users act both parts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, CliProcess, getServeUrl } from './helpers/cli.js';
import { FAKE_R, RSERVER_DOUBLE } from './helpers/rserver-double.js';
import { makeTempDir } from './helpers/temp.js';
import {
  asUser,
  execAsUser,
  isRoot,
  notRootReason,
  useUsers,
  type TestUser,
} from './helpers/users.js';
import { httpRequest } from './helpers/http-client.js';

const DOUBLE = [`--rserver=${RSERVER_DOUBLE}`, `--r=${FAKE_R}`];

// Runs a short node script as `user`; returns what it printed.
function nodeAs(user: TestUser, script: string): string {
  const [command, args] = asUser(user, process.execPath, ['-e', script]);
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 15_000 });
  return `${result.stdout}${result.stderr}`.trim();
}

// What `user` gets when connecting to a Unix socket: CONNECTED or the error code.
function connectAs(user: TestUser, socket: string): string {
  return nodeAs(
    user,
    `require('net').connect(${JSON.stringify(socket)}).on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(0)})`,
  );
}

// What `user` gets when reading or listing a path: the content / entries, or the error code.
function readAs(user: TestUser, path: string, list = false): string {
  const call = list ? 'readdirSync' : 'readFileSync';
  return nodeAs(
    user,
    `try{console.log(String(require('fs').${call}(${JSON.stringify(path)})))}catch(e){console.log(e.code)}`,
  );
}

describe('other users (real Unix accounts)', { skip: isRoot ? false : notRootReason }, () => {
  const users = useUsers('owner', 'attacker');
  // A shared temporary directory, like /tmp on a login node: world-writable and sticky.
  const shared = makeTempDir('rsp-shared-');
  chmodSync(shared, 0o1777);
  let ownerEnv: Record<string, string> = {};

  before(() => {
    const data = join(shared, 'owner-data');
    mkdirSync(data, { mode: 0o700 });
    spawnSync('chown', [`${users.owner.uid}:${users.owner.gid}`, data]);
    ownerEnv = { TMPDIR: shared, XDG_DATA_HOME: data, HOME: data };
  });

  function startAsOwner(args: string[], env: Record<string, string> = ownerEnv): CliProcess {
    return new CliProcess(
      args,
      process.env,
      execAsUser(users.owner, process.execPath, [CLI, ...args], env),
    );
  }

  describe("the owner's serve (Unix listener) and exec", () => {
    let serve: CliProcess;
    let exec: CliProcess;
    let runtime: string;
    let tokenFile: string;
    let execSocket: string;

    before(async () => {
      runtime = join(shared, `rsession-proxy-${users.owner.uid}`);
      tokenFile = join(ownerEnv.XDG_DATA_HOME ?? '', 'token');
      writeFileSync(tokenFile, 'owner-secret-token-0123456789abcdef\n', { mode: 0o600 });
      spawnSync('chown', [`${users.owner.uid}:${users.owner.gid}`, tokenFile]);
      serve = startAsOwner(['serve', `--token-file=${tokenFile}`, ...DOUBLE]);
      await serve.waitFor(/rserver starts on the first request/);
      execSocket = join(shared, 'owner-exec', 'rstudio.sock');
      exec = startAsOwner(['exec', `--socket=${execSocket}`, ...DOUBLE]);
      // exec starts rserver at once, on a socket in its instance's directory.
      await exec.waitFor(/rserver ready/);
      // Root can always connect (see docs/security.md): start rserver behind serve, so its
      // socket and the cookie key exist too.
      const answer = await httpRequest(
        { socketPath: join(runtime, 'default', 'proxy.sock') },
        {
          path: '/',
          headers: {
            host: 'localhost:8787',
            authorization: 'token owner-secret-token-0123456789abcdef',
          },
        },
      );
      assert.equal(answer.status, 302);
    });
    after(async () => {
      assert.equal((await serve.stop()).code, 0, serve.stderr);
      // 128 + SIGTERM: exec's status for a stop it was told (docs/jupyter-server-proxy.md).
      assert.equal((await exec.stop()).code, 143, exec.stderr);
    });

    test('the other user cannot connect to any of its sockets', () => {
      const sockets = [
        join(runtime, 'default', 'proxy.sock'),
        join(runtime, 'default', 'rserver.sock'),
        execSocket,
        ...readdirSync(runtime)
          .filter((name) => name.startsWith('s-') && !name.includes('.lock'))
          .map((name) => join(runtime, name, 'rserver.sock')),
      ];
      assert.equal(sockets.length, 4, "exec's rserver socket is among them");
      for (const socket of sockets) {
        assert.ok(lstatSync(socket).isSocket(), socket);
        assert.equal(connectAs(users.attacker, socket), 'EACCES', socket);
        assert.equal(connectAs(users.owner, socket), 'CONNECTED', `the owner can: ${socket}`);
      }
    });

    test('the other user cannot list the private directories', () => {
      for (const dir of [
        runtime,
        join(runtime, 'default'),
        join(shared, 'owner-exec'),
        ownerEnv.XDG_DATA_HOME ?? '',
      ]) {
        assert.equal(statSync(dir).mode & 0o077, 0, dir);
        assert.equal(readAs(users.attacker, dir, true), 'EACCES', dir);
      }
    });

    test('the other user cannot read the token file or the cookie key', () => {
      const cookieKey = join(
        ownerEnv.XDG_DATA_HOME ?? '',
        'rsession-proxy',
        'instances',
        'default',
        'secure-cookie-key',
      );
      assert.ok(readFileSync(cookieKey, 'utf8').length > 0, 'rserver wrote the cookie key');
      for (const file of [tokenFile, cookieKey]) {
        assert.equal(readAs(users.attacker, file), 'EACCES', file);
      }
    });
  });

  describe('traps the other user sets before the owner starts', () => {
    // Each trap gets its own shared /tmp, so the traps do not meet.
    function trapEnv(): { tmp: string; env: Record<string, string> } {
      const tmp = makeTempDir('rsp-trap-');
      chmodSync(tmp, 0o1777);
      return { tmp, env: { ...ownerEnv, TMPDIR: tmp } };
    }

    async function ownerServeFails(
      env: Record<string, string>,
      args: string[] = [],
    ): Promise<string> {
      const serve = startAsOwner(['serve', '--no-token', ...args, ...DOUBLE], env);
      const exit = await serve.exited;
      assert.equal(exit.code, 1, serve.stderr);
      return serve.stderr;
    }

    test('pre-creating the runtime directory: the start refuses; nothing is written there', async () => {
      const { tmp, env } = trapEnv();
      const planted = join(tmp, `rsession-proxy-${users.owner.uid}`);
      const [command, args] = asUser(users.attacker, 'mkdir', ['-m', '777', planted]);
      spawnSync(command, args);
      const stderr = await ownerServeFails(env);
      assert.match(
        stderr,
        new RegExp(`Refusing to use ${planted}: it is owned by ${users.attacker.name}`),
      );
      assert.deepEqual(readdirSync(planted), []);
      assert.equal(
        statSync(planted).uid,
        users.attacker.uid,
        "the attacker's directory is left alone",
      );
    });

    test("a symlink to the attacker's directory: refused; nothing written through it", async () => {
      const { tmp, env } = trapEnv();
      const theirs = join(tmp, 'attacker-dir');
      const [mk, mkArgs] = asUser(users.attacker, 'mkdir', ['-m', '777', theirs]);
      spawnSync(mk, mkArgs);
      const link = join(tmp, `rsession-proxy-${users.owner.uid}`);
      const [ln, lnArgs] = asUser(users.attacker, 'ln', ['-s', theirs, link]);
      spawnSync(ln, lnArgs);
      const stderr = await ownerServeFails(env);
      assert.match(stderr, /is a symbolic link/);
      assert.deepEqual(readdirSync(theirs), []);
      assert.ok(lstatSync(link).isSymbolicLink(), "the attacker's link is left alone");
    });

    test("a socket or a file planted at the owner's socket path: refused; nothing deleted", async () => {
      const { tmp, env } = trapEnv();
      // The only places the attacker can plant are directories they can write: shared ones.
      const plantedFile = join(tmp, 'owner.sock');
      const [touch, touchArgs] = asUser(users.attacker, 'touch', [plantedFile]);
      spawnSync(touch, touchArgs);
      const plantedSocket = join(tmp, 'listen.sock');
      nodeAs(
        users.attacker,
        `require('net').createServer().listen(${JSON.stringify(plantedSocket)},()=>process.kill(process.pid,'SIGKILL'))`,
      );
      assert.ok(lstatSync(plantedSocket).isSocket());

      const exec = startAsOwner(['exec', `--socket=${plantedFile}`, ...DOUBLE], env);
      assert.equal((await exec.exited).code, 1);
      // A shared directory belongs to root (like /tmp) and lets everyone in: never private.
      const refused = new RegExp(`Refusing to use ${tmp}: it is owned by root`);
      assert.match(exec.stderr, refused);
      assert.match(await ownerServeFails(env, [`--listen=unix:${plantedSocket}`]), refused);
      assert.ok(
        existsSync(plantedFile) && lstatSync(plantedSocket).isSocket(),
        'nothing of the attacker was deleted',
      );
    });

    test("XDG_RUNTIME_DIR pointing at the attacker's directory: not used, said so; nothing written there", async () => {
      const { tmp, env } = trapEnv();
      const theirs = join(tmp, 'xdg');
      const [mk, mkArgs] = asUser(users.attacker, 'mkdir', ['-m', '700', theirs]);
      spawnSync(mk, mkArgs);
      chmodSync(theirs, 0o777);
      const serve = startAsOwner(['serve', '--no-token', ...DOUBLE], {
        ...env,
        XDG_RUNTIME_DIR: theirs,
      });
      try {
        await serve.waitFor(/ssh -N -L/);
        assert.match(
          serve.stderr,
          new RegExp(
            `XDG_RUNTIME_DIR=${theirs} is not used: it is owned by ${users.attacker.name}`,
          ),
        );
        assert.match(
          serve.stdout,
          new RegExp(`ssh -N -L 8787:${tmp}/rsession-proxy-${users.owner.uid}/default/proxy.sock`),
        );
        assert.deepEqual(readdirSync(theirs), []);
      } finally {
        assert.equal((await serve.stop()).code, 0);
      }
    });
  });

  describe('TCP serve: the other user knows the port, not the token', () => {
    let serve: CliProcess;
    let url: URL;
    before(async () => {
      serve = startAsOwner(['serve', '--listen=127.0.0.1:0', '--instance=tcp', ...DOUBLE]);
      await serve.waitFor(/^ {2}http:\/\//);
      const printed = getServeUrl(serve.stdout);
      assert.ok(printed);
      url = printed;
    });
    after(async () => {
      assert.equal((await serve.stop()).code, 0);
    });

    test('401/403 on HTTP and WebSocket for every wrong token; rserver never started', () => {
      const token = url.searchParams.get('token') ?? '';
      const wrong = [
        '',
        'a',
        token.slice(1),
        token.toUpperCase(),
        `${token}a`,
        'x'.repeat(token.length),
        'y'.repeat(200),
      ];
      const script = `
        const http = require('http'); const net = require('net');
        const port = ${url.port}; const wrong = ${JSON.stringify(wrong)};
        const get = (headers, path = '/') => new Promise((r) => http.get({ port, path, headers }, (res) => { res.resume(); r(res.statusCode); }).on('error', (e) => r(e.code)));
        const upgrade = (headers) => new Promise((r) => { const s = net.connect(port, () => s.write('GET /p/ab/ HTTP/1.1\\r\\nHost: localhost\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n' + Object.entries(headers).map(([k, v]) => k + ': ' + v + '\\r\\n').join('') + '\\r\\n')); s.once('data', (d) => { r(Number(String(d).split(' ')[1])); s.destroy(); }); s.on('error', (e) => r(e.code)); });
        (async () => {
          const out = [await get({}), await upgrade({})];
          for (const t of wrong) { out.push(await get({ authorization: 'token ' + t }), await get({}, '/?token=' + encodeURIComponent(t)), await upgrade({ authorization: 'token ' + t })); }
          console.log(JSON.stringify(out));
        })();`;
      const statuses = JSON.parse(nodeAs(users.attacker, script)) as (number | string)[];
      assert.equal(statuses.length, 2 + wrong.length * 3);
      for (const status of statuses) assert.ok(status === 401 || status === 403, String(status));
      const status = JSON.parse(
        readFileSync(
          join(shared, `rsession-proxy-${users.owner.uid}`, 'tcp', 'status.json'),
          'utf8',
        ),
      ) as { state: string; rserverPid?: number };
      assert.equal(status.state, 'stopped');
      assert.equal(status.rserverPid, undefined, 'no rserver was started');
    });
  });
});

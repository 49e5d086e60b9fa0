// README.md#installing, from a clone and as a tarball: the README's blocks run as printed, in a
// fresh clone of a snapshot of this tree, each global install into a prefix of its own. The
// command then runs from what was installed: --version, and doctor, which finds the test double
// (RSESSION_PROXY_RSERVER) and so exits 0. The tarball ships what its source maps and Markdown
// point at. One clone, one `npm ci`, one `npm pack` for the whole file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  PACKAGE_VERSION,
  cleanEnv,
  doctorEnv,
  findDanglingReferences,
  getInstallSkip,
  makeSnapshotRepo,
  readInstallBlocks,
  runBlock,
  useGlobalPrefix,
} from '../helpers/install.js';
import { makeTempDir } from '../helpers/temp.js';

const skip = getInstallSkip();

describe('installing from a clone, and as a tarball made in it', { skip }, () => {
  const root = makeTempDir('rsp-install-clone-');
  const [cloneBlock, tarballBlock] = readInstallBlocks();
  let repo = '';
  const clone = join(root, 'rsession-proxy');
  before(() => {
    repo = makeSnapshotRepo(root);
  });

  test('the README has the clone and the tarball blocks', () => {
    assert.match(cloneBlock ?? '', /^git clone "\$REPO" rsession-proxy/);
    assert.match(tarballBlock ?? '', /^npm pack\n/);
  });

  test('from a clone: npm ci builds it, npm install -g . puts it on PATH', async () => {
    const globalDir = join(root, 'global-clone');
    const env = cleanEnv({
      REPO: `file://${repo}`,
      ...useGlobalPrefix(root, globalDir),
      ...doctorEnv(root),
    });
    const run = await runBlock(cloneBlock ?? '', root, env, 240_000);
    assert.equal(run.code, 0, run.output);
    assert.equal(run.output.trim().split('\n').at(-1), PACKAGE_VERSION, run.output);
    // The command on PATH is the clone's, built by npm ci (prepare).
    assert.equal(
      realpathSync(join(globalDir, 'bin', 'rsession-proxy')),
      join(realpathSync(clone), 'dist', 'bin', 'rsession-proxy.js'),
    );
    const doctor = execFileSync('rsession-proxy', ['doctor', '--json'], { env, encoding: 'utf8' });
    assert.equal((JSON.parse(doctor) as { ok: boolean }).ok, true, doctor);
  });

  test('as a tarball: npm pack in the clone, npm install -g of the tarball elsewhere', async () => {
    const globalDir = join(root, 'global-tarball');
    const env = cleanEnv({ ...useGlobalPrefix(root, globalDir), ...doctorEnv(root) });
    const run = await runBlock(tarballBlock ?? '', clone, env, 240_000);
    assert.equal(
      run.code,
      0,
      `doctor found a usable setup through the tarball's command:\n${run.output}`,
    );
    assert.match(run.output, /Nothing blocks a start\./);
    const installed = join(globalDir, 'lib', 'node_modules', 'rsession-proxy');
    // A copy, not a link to the clone: it runs without the clone.
    assert.equal(realpathSync(installed), installed);
    assert.equal(
      execFileSync('rsession-proxy', ['--version'], { env, encoding: 'utf8' }).trim(),
      PACKAGE_VERSION,
    );
    assert.deepEqual(findDanglingReferences(installed), []);
    const listing = execFileSync('tar', ['tzf', `rsession-proxy-${PACKAGE_VERSION}.tgz`], {
      cwd: clone,
      encoding: 'utf8',
    });
    assert.doesNotMatch(listing, /package\/(dist\/)?test\//, 'no tests in the package');
    assert.match(listing, /package\/docs\/screenshot\.png\n/);
    assert.match(listing, /package\/docs\/examples\/launch\.js\n/);
    assert.match(listing, /package\/lib\/index\.ts\n/);
  });
});

// README.md#installing, from the git URL into a project: npm clones the repository (a snapshot
// of this tree), installs its build tools, runs `prepare` and installs the result; `npx` then
// runs the command from the project's node_modules. One install for the whole file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  PACKAGE_VERSION,
  cleanEnv,
  doctorEnv,
  findDanglingReferences,
  getInstallSkip,
  makeSnapshotRepo,
  readInstallBlocks,
  runBlock,
} from '../helpers/install.js';
import { makeTempDir } from '../helpers/temp.js';

describe('installing from the git URL into a project', { skip: getInstallSkip() }, () => {
  test('npm install "git+$REPO" builds it; npx rsession-proxy runs it', async () => {
    const block = readInstallBlocks()[2] ?? '';
    assert.match(block, /^npm install "git\+\$REPO"\nnpx rsession-proxy --version\n$/);
    const root = makeTempDir('rsp-install-git-');
    const repo = makeSnapshotRepo(root);
    const project = join(root, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{ "name": "my-project", "private": true }\n');
    const env = cleanEnv({ REPO: `file://${repo}`, ...doctorEnv(root) });

    const run = await runBlock(block, project, env, 300_000);
    assert.equal(run.code, 0, run.output);
    assert.equal(run.output.trim().split('\n').at(-1), PACKAGE_VERSION, run.output);
    const installed = join(project, 'node_modules', 'rsession-proxy');
    assert.equal(realpathSync(installed), installed, 'installed, not linked');
    assert.deepEqual(findDanglingReferences(installed), []);
    const doctor = execFileSync('npx', ['rsession-proxy', 'doctor', '--json'], {
      cwd: project,
      env,
      encoding: 'utf8',
    });
    assert.equal((JSON.parse(doctor) as { ok: boolean }).ok, true, doctor);
  });
});

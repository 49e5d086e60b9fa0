import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainRServerFailure } from '../../lib/index.js';

const at = '2026-09-15T12:37:20.861721Z [rserver] ERROR';
const cases: [string, string, RegExp][] = [
  [
    'server-user',
    `${at} Attempt to run server as user 'rstudio-server' (uid 999) from account 'jovyan' (uid 1000) without privilege, which is required to run as a different uid; OCCURRED AT x; LOGGED FROM: y`,
    /'rstudio-server' while running as 'jovyan'/,
  ],
  [
    'session-rpc-key',
    `${at} system error 13 (Permission denied) [path: /var/lib/rstudio-server/session-rpc-key]; OCCURRED AT x`,
    /^RStudio Server 2026\.05 run as an ordinary user cannot read the root-owned \/var\/lib\/rstudio-server\/session-rpc-key .*only for an rserver whose `--version` names one of those releases: use such a build, or RStudio Server 2026\.08 or newer/,
  ],
  [
    'shared-tmp-key',
    `${at} system error 13 (Permission denied) [path: /tmp/rstudio-server/session-rpc-key]; OCCURRED AT x`,
    /^rserver cannot use \/tmp\/rstudio-server\/session-rpc-key, in the \/tmp that every user .*2022\.12 or newer/,
  ],
  [
    'permission-denied',
    `${at} system error 13 (Permission denied) [path: /var/run/rstudio-server, description: x]; OCCURRED AT x`,
    /cannot write \/var\/run\/rstudio-server/,
  ],
  ['file-name-too-long', `${at} Unexpected exception: File name too long [system:36]`, /107 bytes/],
  [
    'r-not-found',
    `${at} Unable to determine real path of R script /usr/bin/R (system error 2 (No such file or directory))`,
    /--r/,
  ],
  [
    'unrecognised-option',
    "unrecognised option '--www-socket' on command line",
    /does not know --www-socket/,
  ],
  [
    'missing-argument',
    "the required argument for option '--auth-none' is missing",
    /--auth-none=1/,
  ],
  ['config-file', 'Unable to open config file: /etc/x.conf', /\/etc\/x\.conf/],
  ['same-site', `${at} Invalid SameSite option: strict`, /none.*lax/],
  ['namespace', 'unshare: unshare failed: No space left on device', /max_user_namespaces/],
  ['namespace', 'unshare: write failed /proc/self/uid_map: Operation not permitted', /watchdog/],
];

for (const [kind, line, hint] of cases) {
  test(`recognises ${kind}`, () => {
    const found = explainRServerFailure(['some INFO line', line, '']);
    assert.equal(found?.kind, kind);
    assert.equal(found.line, line.trim());
    assert.match(found.hint, hint);
  });
}

test('an unknown failure is not explained', () => {
  assert.equal(explainRServerFailure([`${at} something new`]), undefined);
});

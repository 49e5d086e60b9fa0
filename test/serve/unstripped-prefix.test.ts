import assert from 'node:assert/strict';
import { test } from 'node:test';
import { carriesPrefix } from '../../lib/serve/unstripped-prefix.js';

test('carriesPrefix: the entry pages below the prefix, and nothing RStudio serves itself', () => {
  const table: [string, string, boolean][] = [
    // what a front that left the prefix on passes
    ['/user/alice/rstudio/', '/user/alice/rstudio/', true],
    ['/user/alice/rstudio', '/user/alice/rstudio/', true],
    ['/user/alice/rstudio/auth-sign-in', '/user/alice/rstudio/', true],
    ['/user/alice/rstudio/auth-do-sign-in', '/user/alice/rstudio/', true],
    ['/user/alice/rstudio/auth-sign-out', '/user/alice/rstudio/', true],
    ['/rstudio/', '/rstudio/', true],
    // what jupyter-server-proxy passes (stripped)
    ['/', '/user/alice/rstudio/', false],
    ['/auth-sign-in', '/user/alice/rstudio/', false],
    ['/rpc/client_init', '/user/alice/rstudio/', false],
    // RStudio's own GWT files live under /rstudio/, whatever the prefix
    ['/rstudio/rstudio.nocache.js', '/rstudio/', false],
    ['/user/alice/rstudio/rpc/x', '/user/alice/rstudio/', false],
    ['/user/alice/rstudiox/', '/user/alice/rstudio/', false],
    // no prefix: nothing to strip
    ['/', '/', false],
    ['/auth-sign-in', '/', false],
  ];
  for (const [path, prefix, expected] of table) {
    assert.equal(carriesPrefix(path, prefix), expected, `${path} under ${prefix}`);
  }
});

// The browser, load and install tests take long and test nothing that depends on the Node.js version:
// .ci/run runs them on the machine's Node.js and sets RSESSION_PROXY_TEST_ONCE=done for the runs
// on the other majors, where they are skipped with this reason.
export const skipIfRanOnce: string | false =
  process.env.RSESSION_PROXY_TEST_ONCE === 'done'
    ? 'already run on the first Node.js of this CI run (RSESSION_PROXY_TEST_ONCE=done)'
    : false;

#!/usr/bin/env node
process.stderr.write('rsession-proxy: the command line is not written yet.\n');
process.exitCode = 1;

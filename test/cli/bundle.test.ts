// The CLI ships as one file (`npm run bundle`: dist/bin/cli/main.js, the CLI with the library
// and its dependencies in it), so that a command loads one module rather than some 300. What
// that file must keep true: it loads nothing else, and every path it spells relative to itself
// (the package root, package.json, the relays it starts) names a file that is there.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const BUNDLE = new URL('../../bin/cli/main.js', import.meta.url);
const source = readFileSync(BUNDLE, 'utf8');

// The module specifiers of static imports, re-exports and dynamic imports with a literal.
function importedSpecifiers(code: string): string[] {
  const found: string[] = [];
  for (const match of code.matchAll(
    /(?:^|[;\n])\s*(?:import|export)\s[^;'"]*?from\s*["']([^"']+)["']/g,
  ))
    found.push(match[1] ?? '');
  for (const match of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g))
    found.push(match[1] ?? '');
  return found;
}

test('the specifier scan finds static and dynamic imports', () => {
  assert.deepEqual(
    importedSpecifiers(
      `import { a } from "node:fs";\nexport { b } from './b.js';\nawait import('execa');`,
    ),
    ['node:fs', './b.js', 'execa'],
  );
});

test('the CLI bundle imports only Node.js built-ins', () => {
  assert.match(source, /^import \{ createRequire \} from 'node:module'/, 'built by npm run bundle');
  const specifiers = importedSpecifiers(source);
  assert.ok(specifiers.length > 0);
  assert.deepEqual(
    specifiers.filter((specifier) => !specifier.startsWith('node:')),
    [],
    'every module is in the bundle',
  );
  const required = [...source.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map(
    (m) => m[1] ?? '',
  );
  assert.deepEqual(
    required.filter((name) => name.startsWith('.') || name.startsWith('/')),
    [],
    'no file of the package is required at run time',
  );
});

test('every path the bundle spells relative to itself exists', () => {
  const relative = [
    ...source.matchAll(/new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g),
  ].map((m) => m[1] ?? '');
  // The package root, package.json, the Slurm step's command, the namespace relay, the demo's
  // fixtures: a path that assumes the file it was written in would miss here.
  assert.ok(relative.length >= 4, JSON.stringify(relative));
  for (const path of relative) {
    const target = fileURLToPath(new URL(path, BUNDLE));
    assert.ok(existsSync(target), `${path} from the bundle: ${target} does not exist`);
  }
  assert.ok(
    relative.includes('../../lib/rserver/relay-main.js'),
    'the namespace relay by its path',
  );
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  chooseFormat,
  isPageLoad,
  renderError,
  renderStartingPage,
} from '../../lib/proxy/responses.js';

describe('chooseFormat', () => {
  const cases: [string | undefined, 'html' | 'json'][] = [
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'html'],
    ['application/json, text/plain, */*', 'json'],
    ['application/json;q=0.5, text/html;q=0.9', 'html'],
    ['text/html;q=0.5, application/json', 'json'],
    ['text/html;q=0', 'json'],
    ['*/*', 'json'],
    ['', 'json'],
    [undefined, 'json'],
    ['TEXT/HTML', 'html'],
  ];
  for (const [accept, expected] of cases) {
    test(`${JSON.stringify(accept)} → ${expected}`, () =>
      assert.equal(chooseFormat(accept), expected));
  }
});

test('isPageLoad: GET or HEAD that prefers HTML', () => {
  assert.ok(isPageLoad('GET', 'text/html'));
  assert.ok(isPageLoad('HEAD', 'text/html'));
  assert.ok(!isPageLoad('POST', 'text/html'));
  assert.ok(!isPageLoad('GET', 'application/json'));
});

describe('renderError', () => {
  test('JSON: status, code and message', () => {
    const rendered = renderError(
      502,
      { code: 'EBACKEND', message: 'RStudio is not reachable.' },
      'json',
    );
    assert.equal(rendered.status, 502);
    assert.equal(rendered.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(rendered.body), {
      error: { status: 502, code: 'EBACKEND', message: 'RStudio is not reachable.' },
    });
  });

  test('HTML: escaped, and never cached', () => {
    const rendered = renderError(503, { message: 'a <script>"x"</script>' }, 'html');
    assert.match(rendered.headers['content-type'] ?? '', /^text\/html/);
    assert.equal(rendered.headers['cache-control'], 'no-store');
    assert.match(rendered.body, /<title>503 Service Unavailable<\/title>/);
    assert.ok(!rendered.body.includes('<script>'));
    assert.match(rendered.body, /a &#60;script&#62;&#34;x&#34;/);
  });
});

test('the starting page reloads itself and says so', () => {
  const rendered = renderStartingPage(2);
  assert.equal(rendered.status, 503);
  assert.equal(rendered.headers['retry-after'], '2');
  assert.equal(rendered.headers['cache-control'], 'no-store');
  assert.match(rendered.body, /<meta http-equiv="refresh" content="2">/);
  assert.match(rendered.body, /Starting RStudio…/);
});

// The generators of the fuzz test: request lines, targets, header sets and bodies, most of them
// wrong in some way, some of them right (with the token, a real handshake), as raw bytes.
import fc from 'fast-check';

export interface FuzzContext {
  /** serve's token and the cookie its ?token= answer set (`name=value`). */
  token: string;
  frontCookie: string;
  /** rserver's sign-in cookies (`name=value; …`). */
  rserverCookies: string;
  /** The Host a client of this listener sends, e.g. `127.0.0.1:41234` or `localhost:8787`. */
  host: string;
}

export interface FuzzRequest {
  bytes: string;
  /** A WebSocket upgrade: 101 is a right answer too. */
  upgrade: boolean;
  /** A HEAD request: the answer has no body, whatever its Content-Length. */
  head: boolean;
}

// What a request target may hold (printable ASCII: Node's parser refuses the rest with a 400),
// weighted to the characters that break URL parsers: delimiters, escapes good and bad,
// brackets, backslashes, dot segments.
const URL_UNITS = [
  ...Array.from('/\\[]%?#:@!$&\'()*+,;=~.-_"<>^`{|}'),
  '%00',
  '%zz',
  '%2e',
  '%2f',
  '%5c',
  '%',
  '..',
  'a',
  'Z',
  '0',
  '9',
  'token',
  '=',
];
// A header value may also hold tabs and latin1; controls make Node answer 400.
const VALUE_UNITS = [...URL_UNITS, ' ', '\t', '\xe9', '\xff'];
const CONTROLS = ['\x00', '\x01', '\x7f', ' '];

const urlText = (maxLength: number) =>
  fc.oneof(
    { weight: 29, arbitrary: fc.string({ unit: fc.constantFrom(...URL_UNITS), maxLength }) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: fc.constantFrom(...URL_UNITS, ...CONTROLS), maxLength }),
    },
  );
const valueText = (maxLength: number) =>
  fc.oneof(
    { weight: 29, arbitrary: fc.string({ unit: fc.constantFrom(...VALUE_UNITS), maxLength }) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: fc.constantFrom(...VALUE_UNITS, ...CONTROLS), maxLength }),
    },
  );

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE') },
  { weight: 1, arbitrary: fc.constantFrom('OPTIONS', 'TRACE', 'CONNECT', 'PRI', 'FOO', 'get', '') },
  { weight: 1, arbitrary: urlText(6) },
);

const version = fc.oneof(
  { weight: 14, arbitrary: fc.constant('HTTP/1.1') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.10', 'http/1.1', ''),
  },
);

function target(ctx: FuzzContext): fc.Arbitrary<string> {
  const base = fc.constantFrom(
    '/',
    '/rstudio/',
    '/rstudio',
    '/rstudio/_rsession-proxy/health',
    '/rstudio/_rsession-proxy/status',
    '/rstudio/rpc/get_state',
    '/rstudio/events/get_events',
    '/rstudio/p/0a1b/echo',
    '/rstudio/p/0a1b/terminal/1/',
    '/rstudio/auth-sign-in',
    '/rstudio/files/x',
    '',
  );
  const query = fc.oneof(
    fc.constant(''),
    fc.constant(`?token=${encodeURIComponent(ctx.token)}`),
    urlText(12).map((q) => `?token=${q}`),
    urlText(16).map((q) => `?${q}`),
    fc.constantFrom('?token', '?token=', '?%74oken=x', '?a=1&token=%', '?%', '?size=10'),
  );
  const path = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(base, urlText(12)).map(([b, tail]) => `${b}${tail}`) },
    { weight: 1, arbitrary: urlText(20) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '*',
        'http://127.0.0.1:1/',
        `http://${ctx.host}/rstudio/`,
        'localhost:1',
        '//evil/',
        '/\\evil/',
        '/\\[',
        '/\\x:99999/',
      ),
    },
  );
  return fc.tuple(path, query).map(([p, q]) => `${p}${q}`);
}

function headers(ctx: FuzzContext, upgrade: boolean): fc.Arbitrary<string[]> {
  const host = fc.oneof(
    { weight: 6, arbitrary: fc.constant(ctx.host) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'attacker.example',
        'localhost',
        '[::1]:1',
        'LOCALHOST',
        `${ctx.host}, evil`,
        '',
        '127.0.0.1:99999',
        '[::1',
      ),
    },
    { weight: 1, arbitrary: valueText(12) },
  );
  const credential = fc.oneof(
    fc.constant<string[]>([]),
    fc.constant([`Authorization: token ${ctx.token}`]),
    fc.constant([`Cookie: ${ctx.frontCookie}; ${ctx.rserverCookies}`]),
    fc.constant([`Cookie: ${ctx.rserverCookies}`]),
    valueText(20).map((v) => [`Authorization: ${v}`]),
    valueText(20).map((v) => [`Cookie: ${v}`]),
    valueText(20).map((v) => [`Cookie: ${ctx.frontCookie.split('=')[0] ?? ''}=${v}`]),
    fc.constantFrom(
      ['Authorization: Basic dXNlcjpwYXNz'],
      ['Authorization: token'],
      ['Authorization: bearer  x y'],
    ),
  );
  const origin = fc.oneof(
    fc.constant<string[]>([]),
    fc.constant([`Origin: http://${ctx.host}`]),
    fc.constantFrom(
      ['Origin: null'],
      ['Origin: http://evil.example'],
      ['Origin: https://localhost:8787'],
      ['Origin: http://127.0.0.1:1'],
      ['Origin:'],
    ),
    valueText(16).map((v) => [`Origin: ${v}`]),
  );
  const handshake = upgrade
    ? fc.oneof(
        fc.constant([
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        ]),
        fc.constant(['Connection: Upgrade', 'Upgrade: websocket']),
        fc.constant([
          'Connection: upgrade, keep-alive',
          'Upgrade: WebSocket',
          'Sec-WebSocket-Version: 8',
          'Sec-WebSocket-Key: x',
        ]),
        valueText(10).map((v) => ['Connection: Upgrade', `Upgrade: ${v}`]),
      )
    : fc.constant<string[]>([]);
  const other = fc.array(
    fc.oneof(
      fc.constantFrom(
        'Connection: close',
        'Connection: keep-alive',
        'Expect: 100-continue',
        'Expect: nonsense',
        'X-Forwarded-Host: evil.example',
        'X-RStudio-Request: http://evil.example/',
        'Accept: text/html',
        'Accept: application/json',
        'Accept-Encoding: gzip',
        'Range: bytes=0-10',
      ),
      fc
        .tuple(fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/), valueText(16))
        .map(([n, v]) => `${n}: ${v}`),
    ),
    { maxLength: 3 },
  );
  // Now and then, a line that is no header at all, or framing that contradicts itself.
  const broken = fc.oneof(
    { weight: 9, arbitrary: fc.constant<string[]>([]) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        valueText(16).map((line) => [line]),
        fc.constantFrom(
          ['Transfer-Encoding: xchunked'],
          ['Content-Length: -1'],
          ['Content-Length: 1, 2'],
          ['Transfer-Encoding: chunked', 'Content-Length: 0'],
        ),
      ),
    },
  );
  return fc
    .tuple(host, fc.nat(9), credential, origin, handshake, other, broken)
    .map(([h, hostless, c, o, u, rest, b]) => [
      ...(hostless === 0 ? [] : [`Host: ${h}`]),
      ...b,
      ...c,
      ...o,
      ...u,
      ...rest,
    ]);
}

// A whole request: line, headers, and a body framed as its headers say (Content-Length exact,
// or chunked), so that every request is complete and owes an answer.
export function fuzzRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  return fc.boolean().chain((upgrade) =>
    fc
      .record({
        method: upgrade ? fc.constant('GET') : method,
        target: target(ctx),
        version,
        headers: headers(ctx, upgrade),
        body: fc.oneof(fc.constant(''), valueText(30)),
        framing: fc.constantFrom('length', 'chunked', 'none'),
        eol: fc.oneof(
          { weight: 19, arbitrary: fc.constant('\r\n') },
          { weight: 1, arbitrary: fc.constant('\n') },
        ),
      })
      .map(({ method: m, target: t, version: v, headers: h, body, framing, eol }) => {
        const bodyBytes = Buffer.byteLength(body, 'latin1');
        const frame =
          framing === 'length'
            ? [`Content-Length: ${bodyBytes}`]
            : framing === 'chunked'
              ? ['Transfer-Encoding: chunked']
              : [];
        const payload =
          framing === 'length'
            ? body
            : framing === 'chunked'
              ? `${bodyBytes > 0 ? `${bodyBytes.toString(16)}\r\n${body}\r\n` : ''}0\r\n\r\n`
              : '';
        const line = [m, t, v].filter((part) => part !== '').join(' ');
        const bytes = `${line}${eol}${[...h, ...frame].map((x) => `${x}${eol}`).join('')}${eol}${payload}`;
        // Node's parser holds a PRI request until the rest of HTTP/2's preface has come.
        const preface = m === 'PRI' ? 'SM\r\n\r\n' : '';
        return { bytes: `${bytes}${preface}`, upgrade, head: m === 'HEAD' };
      }),
  );
}

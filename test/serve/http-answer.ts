// Reads one raw HTTP answer off a connection as a strict client would, to judge it: the
// status line and header lines well formed, and the body complete as its framing says.
import { connect } from 'node:net';
import type { HttpTarget } from '../helpers/http-client.js';

export interface HttpAnswer {
  /** The final status (after any 100 Continue); undefined when nothing well-formed came. */
  status: number | undefined;
  /** What was wrong with the answer, if anything. */
  problem: string | undefined;
  text: string;
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/;
const HEADER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]*[^\r\n]*$/;

// Splits `text` into one answer's head (or undefined while it is incomplete) and what follows.
function readHead(text: string): { lines: string[]; rest: string } | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  return { lines: text.slice(0, end).split('\r\n'), rest: text.slice(end + 4) };
}

// Whether the answer so far is complete: undefined while more must come, else the verdict.
function judge(text: string, closed: boolean, head: boolean): HttpAnswer | undefined {
  let rest = text;
  for (;;) {
    const parsed = readHead(rest);
    if (parsed === undefined) {
      if (!closed) return undefined;
      return { status: undefined, problem: rest === '' ? 'no answer' : 'a cut answer', text };
    }
    const [statusLine = '', ...headerLines] = parsed.lines;
    const status = Number(STATUS_LINE.exec(statusLine)?.[1]);
    if (!Number.isInteger(status))
      return { status: undefined, problem: `status line ${JSON.stringify(statusLine)}`, text };
    const bad = headerLines.find((line) => !HEADER_LINE.test(line));
    if (bad !== undefined) return { status, problem: `header line ${JSON.stringify(bad)}`, text };
    if (status === 100) {
      rest = parsed.rest;
      continue;
    }
    const header = (name: string) =>
      headerLines
        .find((line) => line.toLowerCase().startsWith(`${name}:`))
        ?.split(':')[1]
        ?.trim();
    if (head || status === 101 || status === 204 || status === 304)
      return { status, problem: undefined, text };
    const length = header('content-length');
    if (length !== undefined) {
      if (parsed.rest.length >= Number(length)) return { status, problem: undefined, text };
    } else if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
      if (parsed.rest.endsWith('0\r\n\r\n')) return { status, problem: undefined, text };
    } else if (closed) return { status, problem: undefined, text };
    return closed ? { status, problem: 'a cut body', text } : undefined;
  }
}

// Sends `bytes` on a fresh connection and reads one answer (up to `timeout` ms).
export function exchangeRaw(
  target: HttpTarget,
  bytes: string,
  head: boolean,
  timeout: number,
): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const socket =
      'socketPath' in target ? connect(target.socketPath) : connect(target.port, target.host);
    let text = '';
    const finish = (answer: HttpAnswer) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(
      () => finish(judge(text, true, head) ?? { status: undefined, problem: 'timed out', text }),
      timeout,
    );
    socket.on('connect', () => socket.write(bytes, 'latin1'));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const answer = judge(text, false, head);
      if (answer !== undefined) finish(answer);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (text === '') finish({ status: undefined, problem: error.code ?? error.message, text });
    });
    socket.on('close', () =>
      finish(judge(text, true, head) ?? { status: undefined, problem: 'closed', text }),
    );
  });
}

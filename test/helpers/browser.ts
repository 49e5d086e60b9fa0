// A browser's view of a sign-in: redirects followed, cookies kept, every hop recorded.
import { fetchText, type Answer } from './fetch-text.js';
import { cookieHeader, cookieJar } from './http-client.js';

export interface Visit {
  url: string;
  answer: Answer;
}

// Follows redirects from `url` the way a browser does (Location resolved against the URL it
// came from, cookies kept), recording each hop; at most 10 hops.
export async function browse(
  url: string,
  headers: Record<string, string> = {},
  jar = new Map<string, string>(),
): Promise<{ visits: Visit[]; jar: Map<string, string>; setCookies: string[] }> {
  const visits: Visit[] = [];
  const setCookies: string[] = [];
  let next = url;
  for (let hop = 0; hop < 10; hop++) {
    const answer = await fetchText(next, {
      headers: { ...headers, ...(jar.size > 0 ? { cookie: cookieHeader(jar) } : {}) },
    });
    visits.push({ url: next, answer });
    setCookies.push(...(answer.headers['set-cookie'] ?? []));
    for (const [name, value] of cookieJar(answer.headers)) jar.set(name, value);
    const location = answer.headers.location;
    if (answer.status < 300 || answer.status >= 400 || location === undefined) break;
    // Where the browser really connects: always the front, whatever host the URL names.
    const resolved = new URL(location, next);
    next = `http://127.0.0.1:${new URL(url).port}${resolved.pathname}${resolved.search}`;
  }
  return { visits, jar, setCookies };
}

export function cookieAttributes(line: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of line.split(';').slice(1)) {
    const [name = '', value = ''] = part.trim().split('=');
    attributes.set(name.toLowerCase(), value);
  }
  return attributes;
}

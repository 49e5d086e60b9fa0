import type { IncomingMessage } from 'node:http';

// The target as the client sent it: Express rewrites `req.url` under a mount path and keeps the
// original in `originalUrl`.
export function getClientTarget(req: IncomingMessage): string {
  const original = (req as { originalUrl?: unknown }).originalUrl;
  return typeof original === 'string' ? original : (req.url ?? '');
}

// Express's mount path, when the adapter is mounted with app.use('/rstudio', ...).
export function getMountPath(req: IncomingMessage): string | undefined {
  const baseUrl = (req as { baseUrl?: unknown }).baseUrl;
  return typeof baseUrl === 'string' ? baseUrl.replace(/\/+$/, '') : undefined;
}

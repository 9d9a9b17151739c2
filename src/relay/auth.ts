// Who may open a session: the token (in the URL as ?token=, since browsers cannot set
// headers on a WebSocket, or as Authorization: Bearer) and the page's Origin.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when the request carries the token (compared in constant time). */
export function hasToken(req: IncomingMessage, token: string | null): boolean {
  if (token === null) return true;
  const url = new URL(req.url ?? '/', 'http://relay');
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const given = url.searchParams.get('token') ?? bearer;
  return given !== undefined && given !== null && timingSafeEqual(digest(given), digest(token));
}

/**
 * The Origin check. Browsers always send Origin, so a page on another site cannot use a
 * relay running on a visitor's machine or network; other clients send none (and could
 * send anything, which is why the token is the authentication, not this). origins is
 * the allowlist: the configured one, or the origin of the relay's own URL. It is never
 * the Host header, which a page that rebinds its name to the relay's address controls.
 */
export function originAllowed(req: IncomingMessage, origins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origins.includes('*') || origins.includes(origin.replace(/\/+$/, ''));
}

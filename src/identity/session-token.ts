import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'sid';

/** The session token of a request: `Authorization: Bearer <token>` first, else the `sid` cookie. */
export function readSessionToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.length > 0) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : null;
  }
  const cookie = request.cookies?.[SESSION_COOKIE];
  return typeof cookie === 'string' && cookie.length > 0 ? cookie : null;
}

import type { FastifyRequest } from 'fastify';
import { sha256Hex } from 'src/common/sealing/secret-sealer';

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

/** A well-formed token is 43 base64url characters (256 random bits); anything else cannot match and costs no query. */
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/** The stored form of a session token (its SHA-256), or null for a token that cannot be one of ours. */
export function sessionTokenHash(token: string | null): string | null {
  return token !== null && TOKEN_FORMAT.test(token) ? sha256Hex(token) : null;
}

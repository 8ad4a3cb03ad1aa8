import type { CookieSerializeOptions } from '@fastify/cookie';

/**
 * The options of every cookie the service sets (the login session, the browser-binding keys): HttpOnly,
 * SameSite=Lax, Secure when the public address is https, with Max-Age and the matching Expires, as Express wrote them.
 */
export function httpOnlyCookie(secure: boolean, path: string, maxAgeSeconds: number): CookieSerializeOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    secure,
    path,
    maxAge: maxAgeSeconds,
    expires: new Date(Date.now() + maxAgeSeconds * 1000),
  };
}

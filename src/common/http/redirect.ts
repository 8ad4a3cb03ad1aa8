import accepts from 'accepts';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Code points a Location header may carry as they are (RFC 3986 characters, `%` checked separately). */
const UNSAFE = /%(?![0-9A-Fa-f]{2})|[^!#-;=?-_a-z|~]/gu;

function encodeOne(char: string): string {
  if (char === '%') {
    return '%25';
  }
  try {
    return encodeURI(char);
  } catch {
    // A lone surrogate: its replacement character, as Express writes it.
    return encodeURI('\uFFFD');
  }
}

/**
 * Percent-encodes what may not stand in a Location header, keeping valid `%XX` escapes, as Express's `res.redirect`
 * did. A returnTo with non-ASCII text (`/订单`) would otherwise make Node refuse the header.
 */
export function encodeLocation(url: string): string {
  return url.replace(UNSAFE, encodeOne);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * A 302 to `url` as Express's `res.redirect` sent it: the Location encoded, and a short body in the type the client
 * accepts (text, HTML, or none), with `Vary: Accept`.
 */
export function sendFound(request: FastifyRequest, reply: FastifyReply, url: string): void {
  const location = encodeLocation(url);
  void reply.header('Location', location).header('Vary', 'Accept').code(302);
  switch (accepts(request.raw).type(['text', 'html'])) {
    case 'text':
      void reply.type('text/plain; charset=utf-8').send(`Found. Redirecting to ${location}`);
      return;
    case 'html':
      void reply
        .type('text/html; charset=utf-8')
        .send(`<p>Found. Redirecting to ${location.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char])}</p>`);
      return;
    default:
      void reply.send('');
  }
}

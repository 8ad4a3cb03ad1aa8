import { parse as parseQueryString } from 'node:querystring';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The largest body any parser reads: what Express's body-parser got as `limit: '64kb'`. */
export const BODY_LIMIT = 64 * 1024;

/** Shaped like body-parser's errors (`status`, `type`), so AllExceptionsFilter answers them as it always did. */
class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function charsetOf(request: FastifyRequest): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";]+)"?/i.exec(request.headers['content-type'] ?? '');
  return match?.[1].trim().toLowerCase();
}

/** body-parser decodes JSON only as UTF-8 (any `utf-*` label) and answers other charsets 415. */
function requireUtf8(request: FastifyRequest): void {
  const charset = charsetOf(request);
  if (charset !== undefined && !charset.startsWith('utf-')) {
    throw new BodyError(415, 'charset.unsupported', `unsupported charset "${charset.toUpperCase()}"`);
  }
}

/**
 * The body parsers Express had, and only those: JSON (objects and arrays, an empty body is `{}`), WeChat's XML kept
 * as text for the signature guard, urlencoded (flat, as `extended: false`). Any other content type is not read and
 * leaves the body undefined, so the webhook still answers its own 415 after the signature check (Fastify would
 * otherwise refuse unknown types, and parse text/plain, before any guard runs).
 */
export function registerBodyParsers(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (request, body: string, done) => {
      try {
        requireUtf8(request);
        if (body.length === 0) {
          done(null, {});
          return;
        }
        const first = /^[ \t\n\r]*([^ \t\n\r])/.exec(body)?.[1];
        if (first !== '{' && first !== '[') {
          throw new SyntaxError(`Unexpected token ${first ?? 'end'} in JSON: only an object or an array is accepted`);
        }
        done(null, JSON.parse(body));
      } catch (error) {
        // As body-parser did: the SyntaxError itself (Nest turns it into a 400 with its message), marked 400.
        done(Object.assign(error as Error, { status: 400, type: 'entity.parse.failed' }), undefined);
      }
    },
  );
  // WeChat posts raw XML; it is kept as text, verified, then parsed with DOCTYPE refused (never by the body parser).
  fastify.addContentTypeParser(
    ['text/xml', 'application/xml'],
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_request, body: string, done) => done(null, body),
  );
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_request, body: string, done) => {
      const fields = parseQueryString(body);
      if (Object.keys(fields).length > 1000) {
        done(new BodyError(413, 'parameters.too.many', 'too many parameters'), undefined);
        return;
      }
      done(null, fields);
    },
  );
  fastify.addContentTypeParser('*', (_request, payload, done) => {
    payload.on('error', (error) => done(error, undefined));
    payload.on('end', () => done(null, undefined));
    payload.resume();
  });
}

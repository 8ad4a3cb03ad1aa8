import { parse as parseQueryString } from 'node:querystring';
import type { IncomingHttpHeaders } from 'node:http';
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

/**
 * A body that could not be read, handed on as the body and raised in preValidation: an error from the parser itself
 * would make Fastify answer with `Connection: close`, where Express kept the connection.
 */
class RefusedBody {
  constructor(readonly error: Error) {}
}

type Done = (error: Error | null, body?: unknown) => void;

function charsetOf(request: FastifyRequest): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";]+)"?/i.exec(request.headers['content-type'] ?? '');
  return match?.[1].trim().toLowerCase();
}

/**
 * Reads a body as UTF-8 text up to BODY_LIMIT, with body-parser's refusals (413 over the limit, 400 cut short). As
 * body-parser did, a refused body is still read to its end (and dropped) before the answer, so the connection stays
 * usable. Serves the framework's parsers and the plain node:http fast lane alike.
 */
export function readTextBody(headers: IncomingHttpHeaders, payload: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const header = headers['content-length'];
    const declared = header === undefined ? undefined : Number(header);
    const tooLarge = () => new BodyError(413, 'entity.too.large', 'request entity too large');
    let failure: Error | undefined = declared !== undefined && declared > BODY_LIMIT ? tooLarge() : undefined;
    let finished = false;
    const chunks: Buffer[] = [];
    let received = 0;
    payload.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (failure) {
        return;
      }
      if (received > BODY_LIMIT) {
        failure = tooLarge();
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    payload.on('end', () => {
      if (finished) {
        return;
      }
      finished = true;
      if (!failure && declared !== undefined && received !== declared) {
        failure = new BodyError(400, 'request.size.invalid', 'request size did not match content length');
      }
      if (failure) {
        reject(failure);
        return;
      }
      resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    payload.on('error', () => {
      if (!finished) {
        finished = true;
        reject(new BodyError(400, 'request.aborted', 'request aborted'));
      }
    });
  });
}

/** Reads the body for Fastify: any refusal, the parser's included, is handed on as a RefusedBody. */
function readText(
  request: FastifyRequest,
  payload: NodeJS.ReadableStream,
  done: Done,
  parse: (text: string) => unknown,
): void {
  readTextBody(request.headers, payload).then(
    (text) => {
      let body: unknown;
      try {
        body = parse(text);
      } catch (error) {
        done(null, new RefusedBody(error as Error));
        return;
      }
      done(null, body);
    },
    (error: Error) => done(null, new RefusedBody(error)),
  );
}

/** True for the media types WeChat's XML comes as (`text/xml`, `application/xml`, with any parameters). */
export function isXmlContentType(header: string | undefined): boolean {
  return /^\s*(text|application)\/xml\s*(;|$)/i.test(header ?? '');
}

/** body-parser's strict mode: only an object or an array, with the message JSON.parse gives for that first token. */
function parseJson(text: string): unknown {
  if (text.length === 0) {
    return {};
  }
  const match = /^[ \t\n\r]*([^ \t\n\r])/.exec(text);
  const first = match?.[1];
  if (match && first !== '{' && first !== '[') {
    const index = match[0].length - 1;
    try {
      JSON.parse(`${text.slice(0, index)}#${text.slice(index + 1)}`);
    } catch (error) {
      const message = (error as Error).message.replace(/#+/g, (mark) => text.substring(index, index + mark.length));
      throw Object.assign(new SyntaxError(message), { status: 400, type: 'entity.parse.failed' });
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // As body-parser did: the SyntaxError itself (Nest turns it into a 400 with its message), marked 400.
    throw Object.assign(error as Error, { status: 400, type: 'entity.parse.failed' });
  }
}

/**
 * The body parsers Express had, and only those: JSON (objects and arrays, an empty body is `{}`), XML kept as text,
 * urlencoded (flat, as `extended: false`). Any other content type is not read and leaves the body undefined, so a
 * route answers its own 415 after its own checks (Fastify would otherwise refuse unknown types, and parse text/plain,
 * before any guard runs). The webhook's deliveries do not come through here: the fast lane reads them.
 */
export function registerBodyParsers(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', (request, payload, done) => {
    const charset = charsetOf(request);
    if (charset !== undefined && !charset.startsWith('utf-')) {
      // body-parser decodes JSON only as UTF-8 (any `utf-*` label).
      const error = new BodyError(415, 'charset.unsupported', `unsupported charset "${charset.toUpperCase()}"`);
      done(null, new RefusedBody(error));
      return;
    }
    readText(request, payload, done, parseJson);
  });
  // WeChat posts raw XML; it is kept as text, verified, then parsed with DOCTYPE refused (never by the body parser).
  fastify.addContentTypeParser(['text/xml', 'application/xml'], (request, payload, done) =>
    readText(request, payload, done, (text) => text),
  );
  fastify.addContentTypeParser('application/x-www-form-urlencoded', (request, payload, done) =>
    readText(request, payload, done, (text) => {
      const fields = parseQueryString(text);
      if (Object.keys(fields).length > 1000) {
        throw new BodyError(413, 'parameters.too.many', 'too many parameters');
      }
      return fields;
    }),
  );
  fastify.addContentTypeParser('*', (_request, payload, done) => {
    payload.on('error', (error) => done(error, undefined));
    payload.on('end', () => done(null, undefined));
    payload.resume();
  });
  fastify.addHook('preValidation', (request, _reply, next) => {
    if (request.body instanceof RefusedBody) {
      next(request.body.error);
      return;
    }
    next();
  });
}

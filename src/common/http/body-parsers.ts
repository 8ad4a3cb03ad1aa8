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

/** How deep a JSON body may nest: far more than any route takes, far less than what overflows validation's stack. */
export const JSON_DEPTH_LIMIT = 32;

// A UTF-16 surrogate without its other half: not a character, and nothing WeChat or PostgreSQL can take as text.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with a text for PostgreSQL and WeChat (a NUL, a lone surrogate), or undefined. */
function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) {
    return 'must not contain a NUL character (\\u0000)';
  }
  return LONE_SURROGATE.test(text) ? 'must be valid Unicode text (it holds a lone surrogate)' : undefined;
}

const pathOf = (parent: string, key: string): string => (parent === '' ? key : `${parent}.${key}`);

/**
 * Refuses, naming the field, what no route can store or pass on: nesting deeper than JSON_DEPTH_LIMIT (validating
 * it would overflow the stack), and text with a NUL or a lone surrogate, in a value or a key. Recursion stops at the
 * depth limit, so hostile nesting cannot overflow here either.
 */
function checkJson(value: unknown, path: string, depth: number): void {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    if (problem) {
      throw new BodyError(400, 'entity.invalid', `${path || 'the body'} ${problem}`);
    }
    return;
  }
  if (value === null || typeof value !== 'object') {
    return;
  }
  if (depth > JSON_DEPTH_LIMIT) {
    throw new BodyError(400, 'entity.invalid', `The JSON body is nested more than ${JSON_DEPTH_LIMIT} levels deep.`);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      checkJson(value[i], `${path}[${i}]`, depth + 1);
    }
    return;
  }
  for (const key of Object.keys(value)) {
    const problem = textProblem(key);
    if (problem) {
      throw new BodyError(400, 'entity.invalid', `The field name ${JSON.stringify(key)} ${problem}`);
    }
    checkJson((value as Record<string, unknown>)[key], pathOf(path, key), depth + 1);
  }
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
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // As body-parser did: the SyntaxError itself (Nest turns it into a 400 with its message), marked 400.
    throw Object.assign(error as Error, { status: 400, type: 'entity.parse.failed' });
  }
  checkJson(value, '', 1);
  return value;
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
      checkJson(fields, '', 1);
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

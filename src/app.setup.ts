import { STATUS_CODES } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import type { Duplex } from 'node:stream';
import { HttpAdapterHost } from '@nestjs/core';
import { INestApplication, ValidationPipe } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyCookie from '@fastify/cookie';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import type { ErrorBody } from 'src/common/errors/app-exception';
import { trustProxy } from 'src/common/http/client-ip';
import { BODY_LIMIT, registerBodyParsers } from 'src/common/http/body-parsers';
import { FastLane, PlainHandler } from 'src/common/http/fast-lane';
import { completeDocument } from 'src/common/http/openapi';
import { attachRequestHooks, RequestHooks } from 'src/common/http/request-hooks';
import { registerRequestLogging } from 'src/logging/request-logging';
import { AppLogger } from 'src/logging/app-logger';

/**
 * The HTTP platform, set to behave as the Express one did: the same proxies trusted, routes matched without regard to
 * case or a trailing slash, the query string parsed by node:querystring, Node's default time-outs (keep-alive 5 s,
 * a request 300 s), and requests on open connections still served while shutting down (in-flight work finishes; idle
 * sockets are closed). Requests for the routes of the fast lane are answered before Fastify sees them.
 */
export function createHttpAdapter(): FastifyAdapter {
  const lane = new FastLane();
  return new FastifyAdapter({
    // The server is made here so that the fast lane (src/common/http/fast-lane.ts) sees requests first.
    serverFactory: (handler: PlainHandler) =>
      lane.createServer(handler, { keepAliveTimeout: 5_000, requestTimeout: 300_000 }),
    bodyLimit: BODY_LIMIT,
    // The same compiled function the fast lane asks (client-ip.ts): both see the same client IP.
    trustProxy,
    routerOptions: {
      caseSensitive: false,
      ignoreTrailingSlash: true,
      maxParamLength: 2048,
      querystringParser: (query) => parseQueryString(query),
    },
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    // A URL that does not percent-decode: the contract's JSON 400, worded as Express's router worded it. A path
    // segment longer than maxParamLength: 414, without echoing the path.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        void reply.code(414).send({ statusCode: 414, error: 'uri_too_long', message: 'The request path is too long.' });
        return;
      }
      if (error.code !== 'FST_ERR_BAD_URL') {
        void reply.send(error);
        return;
      }
      const path = (request.raw.url ?? '').split('?')[0].slice(1);
      void reply.code(400).send({ statusCode: 400, error: 'bad_request', message: `Failed to decode param '${path}'` });
    },
    clientErrorHandler: answerClientError,
  });
}

/**
 * A request Node's HTTP parser refused before any route could see it (headers over 16 KiB, a malformed request
 * line): answered in the contract's JSON shape on the raw socket, as Fastify would in its own, then closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) {
    return;
  }
  let body: ErrorBody;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    body = { statusCode: 408, error: 'request_timeout', message: 'The request took too long to arrive.' };
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    body = { statusCode: 431, error: 'headers_too_large', message: 'The request headers are over 16 KiB.' };
  } else {
    body = { statusCode: 400, error: 'bad_request', message: 'The request is not valid HTTP.' };
  }
  if (socket.writable) {
    const text = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${body.statusCode} ${STATUS_CODES[body.statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}

/** Everything main.ts does to the app, shared with the e2e tests so they run exactly what production runs. */
export async function configureApp(app: NestFastifyApplication): Promise<INestApplication> {
  const logger = app.get(AppLogger);
  const hooks = app.get(RequestHooks);
  const fastify = app.getHttpAdapter().getInstance();
  app.useLogger(logger);
  registerRequestLogging(fastify, logger.pino, hooks);
  registerBodyParsers(fastify);
  await app.register(fastifyCookie);
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      transform: true,
      stopAtFirstError: true,
      transformOptions: { enableImplicitConversion: false },
    }),
  );
  app.useGlobalFilters(new AllExceptionsFilter(app.get(HttpAdapterHost)));
  // Modules add their fast-lane routes and request hooks while the app initialises; the API document lists the
  // routes too, and Fastify calls the hooks for its own routes (root hooks count for every route until it is ready).
  await app.init();
  attachRequestHooks(fastify, hooks);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('WeChat login and messaging service')
      .setDescription(
        'Official account webhook, H5 OAuth login in the WeChat browser, mini-program login, and the shared access-token store.',
      )
      .setVersion('0.1.0')
      // An opaque session token (or METRICS_TOKEN), not a JWT: no bearerFormat.
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: undefined })
      .addCookieAuth('sid')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Admin-Key' }, 'admin')
      .build(),
  );
  FastLane.of(app.getHttpServer())?.describe(document);
  completeDocument(document);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  return app;
}

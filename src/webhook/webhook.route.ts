import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import { toErrorBody } from 'src/common/errors/all-exceptions.filter';
import { isXmlContentType, readTextBody } from 'src/common/http/body-parsers';
import { contentTypeWithCharset } from 'src/common/http/content-type';
import { FastLane } from 'src/common/http/fast-lane';
import type { Configuration } from 'src/config/configuration';
import { AppLogger } from 'src/logging/app-logger';
import { requestLogContext } from 'src/logging/request-context';
import { describeRequest, logAccess } from 'src/logging/request-logging';
import { checkWebhookSignature } from 'src/webhook/webhook-signature.guard';
import { WebhookQuery, WebhookService } from 'src/webhook/webhook.service';

const PATH = '/wechat/webhook';

/** The OpenAPI description of the route (the framework's scan does not see fast-lane routes). */
const OPERATION = {
  tags: ['webhook'],
  summary: 'Messages and events from WeChat (plaintext, compatible or safe mode)',
  parameters: ['signature', 'timestamp', 'nonce', 'openid', 'encrypt_type', 'msg_signature'].map((name) => ({
    name,
    in: 'query' as const,
    required: false,
    schema: { type: 'string' as const },
  })),
  requestBody: {
    description: "WeChat's message XML (at most 64 KiB)",
    required: true,
    content: {
      'text/xml': { schema: { type: 'string' as const } },
      'application/xml': { schema: { type: 'string' as const } },
    },
  },
  responses: {
    '200': { description: 'A passive reply (application/xml) or the text `success`' },
    '400': { description: 'Malformed or hostile XML, or an encrypted message that does not open; nothing recorded' },
    '401': { description: 'The signature does not match the Token; nothing recorded' },
    '413': { description: 'A body over 64 KiB' },
    '415': { description: 'A body not sent as text/xml or application/xml' },
  },
};

/** Reads a body the webhook does not take to its end (keeping the connection usable) without keeping it. */
function drain(request: IncomingMessage): Promise<undefined> {
  return new Promise((resolve) => {
    request.on('end', () => resolve(undefined));
    request.on('error', () => resolve(undefined));
    request.resume();
  });
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    'content-type': contentTypeWithCharset(contentType),
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/**
 * `POST /wechat/webhook`, served in the fast lane: WeChat delivers every message and event here and gives up after
 * 5 s, so the route runs as a bare node:http handler — body read with the shared limits, the signature checked, then
 * WebhookService — rather than through the framework's router, middleware and guards, which cost more per request
 * than the webhook's own work. Answers, errors and the log line are those of any other route.
 */
@Injectable()
export class WebhookRoute implements OnModuleInit {
  private readonly logger = new Logger('WebhookRoute');
  private readonly token?: string;

  /** Request ids of the lane, in the style of Fastify's (`req-1a`), marked apart: `wh-1a`. */
  private served = 0;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly webhook: WebhookService,
    private readonly appLogger: AppLogger,
    config: ConfigService<Configuration, true>,
  ) {
    this.token = config.get('wechat', { infer: true }).oa.token;
  }

  onModuleInit(): void {
    const lane = FastLane.of(this.adapterHost.httpAdapter?.getHttpServer());
    if (!lane) {
      throw new Error('The webhook needs the HTTP adapter of createHttpAdapter() (src/app.setup.ts)');
    }
    lane.route('POST', PATH, (request, response) => this.serveLogged(request, response), OPERATION);
  }

  /** Lines written while the delivery is handled carry its `req`, as on every other route; then its access line. */
  private serveLogged(request: IncomingMessage, response: ServerResponse): void {
    this.served += 1;
    const req = describeRequest(`wh-${this.served.toString(36)}`, 'POST', request.url ?? '');
    const receivedAt = Date.now();
    void requestLogContext.run(req, () =>
      this.serve(request, response, receivedAt).then(
        (status) => logAccess(this.appLogger.pino, req, status, Date.now() - receivedAt),
        (error: unknown) => this.logger.error(`Answering a delivery failed: ${String(error)}`),
      ),
    );
  }

  /** Answers the delivery; resolves to the status sent (never rejects). */
  private async serve(request: IncomingMessage, response: ServerResponse, receivedAt: number): Promise<number> {
    let status = 200;
    try {
      const url = request.url ?? '';
      const mark = url.indexOf('?');
      const query = mark < 0 ? {} : parseQueryString(url.slice(mark + 1));
      const body = isXmlContentType(request.headers['content-type'])
        ? await readTextBody(request.headers, request)
        : await drain(request);
      checkWebhookSignature(this.token, 'POST', query, body);
      const answer = await this.webhook.receive(query as WebhookQuery, body, receivedAt);
      send(response, status, answer.contentType, answer.body);
    } catch (error) {
      const body = toErrorBody(error, this.logger);
      status = body.statusCode;
      send(response, status, 'application/json', JSON.stringify(body));
    }
    return status;
  }
}

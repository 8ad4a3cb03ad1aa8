import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import accepts from 'accepts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorBody } from 'src/common/errors/all-exceptions.filter';
import { errorPage, sendPage } from 'src/oauth/views/pages';

/** Browsers list text/html in Accept on every navigation; API clients and tools asking for JSON get JSON. */
export function wantsHtml(request: FastifyRequest): boolean {
  return /text\/html/i.test(request.headers.accept ?? '') && accepts(request.raw).type(['html', 'json']) === 'html';
}

/**
 * For the browser-facing OAuth routes: the same error as the global filter (status and code), rendered as a page
 * saying what happened with a way to try again when a browser asked, and as the contract's JSON otherwise.
 */
@Catch()
export class OAuthPageFilter implements ExceptionFilter {
  private readonly logger = new Logger(OAuthPageFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const response = host.switchToHttp().getResponse<FastifyReply>();
    const body = toErrorBody(exception, this.logger);
    if (response.sent) {
      return;
    }
    if (wantsHtml(request)) {
      sendPage(response, body.statusCode, errorPage(body));
    } else {
      void response.status(body.statusCode).send(body);
    }
  }
}

import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { toErrorBody } from 'src/common/errors/all-exceptions.filter';
import { errorPage, sendPage } from 'src/oauth/views/pages';

/** Browsers list text/html in Accept on every navigation; API clients and tools asking for JSON get JSON. */
export function wantsHtml(request: Request): boolean {
  return /text\/html/i.test(request.headers.accept ?? '') && request.accepts(['html', 'json']) === 'html';
}

/**
 * For the browser-facing OAuth routes: the same error as the global filter (status and code), rendered as a page
 * saying what happened with a way to try again when a browser asked, and as the contract's JSON otherwise.
 */
@Catch()
export class OAuthPageFilter implements ExceptionFilter {
  private readonly logger = new Logger(OAuthPageFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<Request>();
    const response = host.switchToHttp().getResponse<Response>();
    const body = toErrorBody(exception, this.logger);
    if (response.headersSent) {
      return;
    }
    if (wantsHtml(request)) {
      sendPage(response, body.statusCode, errorPage(body));
    } else {
      response.status(body.statusCode).json(body);
    }
  }
}

import { CanActivate, ExecutionContext, Injectable, createParamDecorator } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import type { Configuration } from 'src/config/configuration';
import { AppException } from 'src/common/errors/app-exception';
import { readSessionToken } from 'src/identity/session-token';
import { SessionService } from 'src/identity/session.service';

export interface AuthenticatedSession {
  userId: string;
  token: string;
  /** The official account or mini-program the session logged in through; null for a session from before accounts. */
  appid: string | null;
}

type RequestWithSession = FastifyRequest & { session?: AuthenticatedSession };

/** The 401 message when a route needs a live session and the request carries none. */
export const SESSION_REQUIRED = 'A live session is required: log in again.';

/** Methods that change nothing: a cross-site page may link to them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * One guard for both ways of carrying a session: `Authorization: Bearer` and the `sid` cookie. A cookie goes with
 * whatever page the browser is on, so a request that changes something on the strength of the cookie must come from
 * one of our pages: a cross-site `Origin` is refused with 403 (SameSite=Lax already keeps the cookie off most
 * cross-site POSTs; this also covers browsers and same-site hosts that it does not). A request without `Origin` is
 * not a browser's cross-site form or fetch, and a Bearer token is never sent by the browser on its own.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  private readonly publicOrigin: string;

  constructor(
    private readonly sessions: SessionService,
    config: ConfigService<Configuration, true>,
  ) {
    this.publicOrigin = new URL(config.get('app', { infer: true }).publicBaseUrl).origin;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithSession>();
    if (!SAFE_METHODS.has(request.method) && !request.headers.authorization && this.isCrossSite(request)) {
      throw new AppException(403, 'forbidden', 'A request from another site cannot use this session cookie.');
    }
    const token = readSessionToken(request);
    const live = token ? await this.sessions.authenticate(token) : null;
    if (!token || !live) {
      throw AppException.unauthorized(SESSION_REQUIRED);
    }
    request.session = { userId: live.userId, token, appid: live.appid };
    return true;
  }

  private isCrossSite(request: FastifyRequest): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) {
      return false;
    }
    return origin !== this.publicOrigin && origin !== `${request.protocol}://${request.host}`;
  }
}

/** The session SessionGuard authenticated. */
export const CurrentSession = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedSession =>
    context.switchToHttp().getRequest<RequestWithSession>().session!,
);

import { CanActivate, ExecutionContext, Injectable, createParamDecorator } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
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

/** One guard for both ways of carrying a session: `Authorization: Bearer` and the `sid` cookie. */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(private readonly sessions: SessionService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithSession>();
    const token = readSessionToken(request);
    const live = token ? await this.sessions.authenticate(token) : null;
    if (!token || !live) {
      throw AppException.unauthorized(SESSION_REQUIRED);
    }
    request.session = { userId: live.userId, token, appid: live.appid };
    return true;
  }
}

/** The session SessionGuard authenticated. */
export const CurrentSession = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedSession =>
    context.switchToHttp().getRequest<RequestWithSession>().session!,
);

import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import { sha256Hex } from 'src/common/sealing/secret-sealer';
import type { Configuration } from 'src/config/configuration';
import type { IssuedSession, NewSession } from 'src/identity/identity.types';
import { LiveSession, SessionRepository } from 'src/identity/session.repository';
import { sessionTokenHash } from 'src/identity/session-token';

/** Opaque 256-bit session tokens: prepare (IdentityService.login writes them), authenticate, revoke. */
@Injectable()
export class SessionService {
  private readonly ttlSeconds: number;

  constructor(
    private readonly sessions: SessionRepository,
    config: ConfigService<Configuration, true>,
  ) {
    this.ttlSeconds = config.get('app', { infer: true }).sessionTtlSeconds;
  }

  /**
   * A session whose row `IdentityService.login` writes together with the identity: `row` goes to the database,
   * `issued` to the client once that write succeeded.
   */
  prepare(): { row: NewSession; issued: IssuedSession } {
    const token = randomBytes(32).toString('base64url');
    return {
      row: { tokenHash: sha256Hex(token), ttlSeconds: this.ttlSeconds },
      issued: { token, expiresIn: this.ttlSeconds, expiresAt: new Date(Date.now() + this.ttlSeconds * 1000) },
    };
  }

  /** The user and account of a live session, or null for an unknown, expired or revoked token. */
  async authenticate(token: string): Promise<LiveSession | null> {
    const hash = sessionTokenHash(token);
    return hash ? this.sessions.findLiveByTokenHash(hash) : null;
  }

  revoke(token: string): Promise<void> {
    return this.sessions.revoke(sha256Hex(token));
  }

  /** Ends the session a browser held before a login replaced it; a token that cannot be a session costs nothing. */
  async revokeReplaced(token: string | null): Promise<void> {
    const hash = sessionTokenHash(token);
    if (hash) {
      await this.sessions.revoke(hash);
    }
  }
}

import { Injectable } from '@nestjs/common';
import { Sql } from 'src/database/sql';
import type { OAuthScope } from 'src/oauth/wechat-oauth.client';

export interface PendingAuthorization {
  scope: OAuthScope;
  returnTo: string;
  /** The official account the authorization is for; null: the default one (a state from before accounts). */
  appid: string | null;
  /** The user who asked to bind the identity (`bind=1`); null: a plain login. */
  bindUserId: string | null;
}

/** Expired rows are swept by roughly one insert in this many, so the table stays small without a scheduler. */
const SWEEP_EVERY = 200;

@Injectable()
export class OAuthStateRepository {
  constructor(private readonly sql: Sql) {}

  async create(
    stateHash: string,
    browserHash: string,
    pending: PendingAuthorization,
    ttlSeconds: number,
  ): Promise<void> {
    await this.sql.prepared(
      'oauth_state_create',
      `INSERT INTO oauth_states (state_hash, browser_hash, scope, return_to, appid, bind_user_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
      [stateHash, browserHash, pending.scope, pending.returnTo, pending.appid, pending.bindUserId, ttlSeconds],
    );
    if (Math.random() * SWEEP_EVERY < 1) {
      await this.sql.rows(`DELETE FROM oauth_states WHERE expires_at < now()`);
    }
  }

  /**
   * Takes the pending authorization of `state` if it is live and was started by this browser: one statement, so of
   * two concurrent callbacks with the same state exactly one gets it. A wrong browser leaves the state untouched.
   */
  async consume(stateHash: string, browserHash: string): Promise<PendingAuthorization | null> {
    const rows = await this.sql.prepared<PendingAuthorization>(
      'oauth_state_consume',
      `DELETE FROM oauth_states
       WHERE state_hash = $1 AND browser_hash = $2 AND expires_at > now()
       RETURNING scope, return_to AS "returnTo", appid, bind_user_id AS "bindUserId"`,
      [stateHash, browserHash],
    );
    return rows[0] ?? null;
  }
}

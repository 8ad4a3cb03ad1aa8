import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import type { CredentialKind } from 'src/token/credential-kind';

/**
 * The current credential of one kind (access_token or jsapi_ticket) of one appid, shared by every instance of the
 * service. The column names say "token" for both kinds: they predate tickets.
 */
@Entity({ name: 'access_tokens' })
@Check('CHK_access_tokens_kind', `kind IN ('access_token', 'jsapi_ticket')`)
export class AccessTokenEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_access_tokens' })
  appid: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_access_tokens', default: 'access_token' })
  kind: CredentialKind;

  /** The token or ticket, sealed with DATA_ENCRYPTION_KEY. */
  @Column({ name: 'access_token_sealed', type: 'text' })
  accessTokenSealed: string;

  /** SHA-256 of the token or ticket: lets compare-and-expire and notifications match one without unsealing. */
  @Column({ name: 'token_hash', type: 'text' })
  tokenHash: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'refresh_at', type: 'timestamptz' })
  refreshAt: Date;

  @Column({ name: 'fetched_at', type: 'timestamptz', default: () => 'now()' })
  fetchedAt: Date;

  @Column({ name: 'force_refresh_day', type: 'date', nullable: true })
  forceRefreshDay: string | null;

  @Column({ name: 'force_refresh_count', type: 'integer', default: 0 })
  forceRefreshCount: number;

  @Column({ name: 'last_force_refresh_at', type: 'timestamptz', nullable: true })
  lastForceRefreshAt: Date | null;
}

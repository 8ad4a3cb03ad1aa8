import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The current access_token of one appid, shared by every instance of the service. */
@Entity({ name: 'access_tokens' })
export class AccessTokenEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'access_tokens_pkey' })
  appid: string;

  @Column({ name: 'access_token_sealed', type: 'text' })
  accessTokenSealed: string;

  /** SHA-256 of the token: lets compare-and-expire match a token without unsealing. */
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

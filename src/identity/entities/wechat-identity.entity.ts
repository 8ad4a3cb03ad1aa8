import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { UserEntity } from 'src/identity/entities/user.entity';
import type { IdentitySource, WeChatProfile } from 'src/identity/identity.types';

/** One openid under one appid; many may belong to one user (linked by unionid or account binding). */
@Entity({ name: 'wechat_identities' })
@Unique('UQ_wechat_identities_appid_openid', ['appid', 'openid'])
@Index('IDX_wechat_identities_unionid', ['unionid'], { where: 'unionid IS NOT NULL' })
@Index('IDX_wechat_identities_user_id', ['userId'])
@Check('wechat_identities_source_check', `source IN ('official_account', 'mini_program')`)
export class WeChatIdentityEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'wechat_identities_pkey' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => UserEntity, (user) => user.identities, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'wechat_identities_user_id_fkey' })
  user?: UserEntity;

  @Column({ type: 'text' })
  appid: string;

  @Column({ type: 'text' })
  openid: string;

  @Column({ type: 'text' })
  source: IdentitySource;

  @Column({ type: 'text', nullable: true })
  unionid: string | null;

  /** Official-account followers only: true after `subscribe`, false after `unsubscribe`. */
  @Column({ type: 'boolean', nullable: true })
  subscribed: boolean | null;

  @Column({ type: 'jsonb', nullable: true })
  profile: WeChatProfile | null;

  /** The mini-program session_key, sealed with DATA_ENCRYPTION_KEY; never leaves the server. */
  @Column({ name: 'session_key_sealed', type: 'text', nullable: true, select: false })
  sessionKeySealed: string | null;

  /** The OAuth refresh_token, sealed with DATA_ENCRYPTION_KEY. */
  @Column({ name: 'refresh_token_sealed', type: 'text', nullable: true, select: false })
  refreshTokenSealed: string | null;

  @Column({ name: 'refresh_token_expires_at', type: 'timestamptz', nullable: true })
  refreshTokenExpiresAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

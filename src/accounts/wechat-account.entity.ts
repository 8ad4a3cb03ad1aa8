import { Check, Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** An official account or mini-program added through the admin API; secrets sealed with DATA_ENCRYPTION_KEY. */
@Entity({ name: 'wechat_accounts' })
@Check('CHK_wechat_accounts_kind', `kind IN ('official_account', 'mini_program')`)
@Check(
  'CHK_wechat_accounts_official_account_fields',
  `kind = 'official_account' OR (token_sealed IS NULL AND aes_key_sealed IS NULL)`,
)
export class WechatAccountEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_wechat_accounts' })
  appid: string;

  @Column({ type: 'text' })
  kind: string;

  @Column({ type: 'text', nullable: true })
  name: string | null;

  @Column({ name: 'secret_sealed', type: 'text' })
  secretSealed: string;

  @Column({ name: 'token_sealed', type: 'text', nullable: true })
  tokenSealed: string | null;

  @Column({ name: 'aes_key_sealed', type: 'text', nullable: true })
  aesKeySealed: string | null;

  /** The EncodingAESKey a PATCH replaced, still accepted for decryption until `previousAesKeyUntil`. */
  @Column({ name: 'previous_aes_key_sealed', type: 'text', nullable: true })
  previousAesKeySealed: string | null;

  @Column({ name: 'previous_aes_key_until', type: 'timestamptz', nullable: true })
  previousAesKeyUntil: Date | null;

  @Column({ name: 'welcome_text', type: 'text', nullable: true })
  welcomeText: string | null;

  @Column({ name: 'domain_verify', type: 'text', nullable: true })
  domainVerify: string | null;

  @Column({ name: 'forward_url', type: 'text', nullable: true })
  forwardUrl: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

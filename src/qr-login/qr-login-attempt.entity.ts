import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

export const STORED_STATUSES = ['pending', 'scanned', 'confirmed', 'denied'] as const;
/** The statuses a row holds; `expired` is worked out from `expires_at`. */
export type StoredQrLoginStatus = (typeof STORED_STATUSES)[number];

/**
 * One scan-to-login attempt: the QR code's scene, the desktop browser it is bound to (the hash of its cookie only),
 * who scanned it and what they decided. `consumed_at` is when the desktop collected the session: once only.
 */
@Entity({ name: 'qr_login_attempts' })
@Unique('UQ_qr_login_attempts_appid_scene', ['appid', 'scene'])
@Index('IDX_qr_login_attempts_expires_at', ['expiresAt'])
@Check('qr_login_attempts_status_check', `status IN ('pending', 'scanned', 'confirmed', 'denied')`)
export class QrLoginAttemptEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'qr_login_attempts_pkey' })
  id: string;

  /** The official account whose QR code this is. */
  @Column({ type: 'text' })
  appid: string;

  /** The `scene_str` of the QR code: `login_` and 128 random bits. */
  @Column({ type: 'text' })
  scene: string;

  @Column({ name: 'browser_hash', type: 'text' })
  browserHash: string;

  @Column({ type: 'text', default: 'pending' })
  status: StoredQrLoginStatus;

  /** The openid that scanned it (under `appid`). */
  @Column({ type: 'text', nullable: true })
  openid: string | null;

  @Column({ name: 'return_to', type: 'text' })
  returnTo: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'scanned_at', type: 'timestamptz', nullable: true })
  scannedAt: Date | null;

  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true })
  decidedAt: Date | null;

  @Column({ name: 'consumed_at', type: 'timestamptz', nullable: true })
  consumedAt: Date | null;
}

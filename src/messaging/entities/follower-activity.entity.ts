import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A follower's last message or event to an official account: where the 48-hour customer-service window starts. */
@Entity({ name: 'wechat_follower_activity' })
@Index('IDX_wechat_follower_activity_last_at', ['lastAt'])
export class FollowerActivityEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_wechat_follower_activity' })
  appid: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_wechat_follower_activity' })
  openid: string;

  @Column({ name: 'last_at', type: 'timestamptz' })
  lastAt: Date;
}

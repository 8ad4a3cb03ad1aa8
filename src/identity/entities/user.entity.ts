import { Column, CreateDateColumn, Entity, OneToMany, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { WeChatIdentityEntity } from 'src/identity/entities/wechat-identity.entity';

@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'users_pkey' })
  id: string;

  @Column({ type: 'text', nullable: true })
  nickname: string | null;

  @Column({ name: 'avatar_url', type: 'text', nullable: true })
  avatarUrl: string | null;

  /** WeChat's `phoneNumber` (with country code when outside mainland China). */
  @Column({ name: 'phone_number', type: 'text', nullable: true })
  phoneNumber: string | null;

  @Column({ name: 'pure_phone_number', type: 'text', nullable: true })
  purePhoneNumber: string | null;

  @Column({ name: 'country_code', type: 'text', nullable: true })
  countryCode: string | null;

  @OneToMany(() => WeChatIdentityEntity, (identity) => identity.user)
  identities?: WeChatIdentityEntity[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

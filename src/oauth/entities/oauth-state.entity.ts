import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { OAuthScope } from 'src/oauth/wechat-oauth.client';

/**
 * A pending web authorization. Only hashes are stored: of the `state` sent to WeChat and of the browser-binding
 * cookie, so a database reader can neither finish someone's login nor forge a binding.
 */
@Entity({ name: 'oauth_states' })
@Unique('UQ_oauth_states_state_hash', ['stateHash'])
export class OAuthStateEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'state_hash', type: 'text' })
  stateHash: string;

  @Column({ name: 'browser_hash', type: 'text' })
  browserHash: string;

  @Column({ type: 'text' })
  scope: OAuthScope;

  @Column({ name: 'return_to', type: 'text' })
  returnTo: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}

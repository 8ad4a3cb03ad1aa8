import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { OAuthScope } from 'src/oauth/wechat-oauth.client';

/**
 * A pending web authorization. Only hashes are stored: of the `state` sent to WeChat and of the browser-binding
 * cookie, so a database reader can neither finish someone's login nor forge a binding.
 *
 * The table is UNLOGGED (see its migration), which TypeORM cannot express: an entity has no such option and the
 * schema builder does not read it, so only the migration says so (test/e2e/schema-drift.e2e-spec.ts checks it).
 */
@Entity({ name: 'oauth_states' })
@Unique('UQ_oauth_states_state_hash', ['stateHash'])
@Index('IDX_oauth_states_expires_at', ['expiresAt'])
@Check('oauth_states_scope_check', `scope IN ('snsapi_base', 'snsapi_userinfo')`)
export class OAuthStateEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'oauth_states_pkey' })
  id: string;

  @Column({ name: 'state_hash', type: 'text' })
  stateHash: string;

  @Column({ name: 'browser_hash', type: 'text' })
  browserHash: string;

  @Column({ type: 'text' })
  scope: OAuthScope;

  /** The official account the authorization is for; null: the default one (a state from before accounts). */
  @Column({ type: 'text', nullable: true })
  appid: string | null;

  /** The user of the live session that asked to bind this authorization (`bind=1`); null: a plain login. */
  @Column({ name: 'bind_user_id', type: 'uuid', nullable: true })
  bindUserId: string | null;

  @Column({ name: 'return_to', type: 'text' })
  returnTo: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}

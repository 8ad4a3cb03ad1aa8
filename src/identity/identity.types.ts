/** The identity module's types that other modules see (the repositories' row types stay with the repositories). */

export type IdentitySource = 'official_account' | 'mini_program';

/** The WeChat profile fields kept from `/sns/userinfo` (OAuth) or set by the mini-program. */
export interface WeChatProfile {
  nickname?: string;
  sex?: number;
  province?: string;
  city?: string;
  country?: string;
  headimgurl?: string;
  privilege?: string[];
  unionid?: string;
}

/**
 * One openid under one appid as a login path (or a follow) hands it over. Given fields overwrite the kept ones;
 * absent (undefined/null) ones keep them. Secrets arrive sealed.
 */
export interface WeChatIdentity {
  appid: string;
  openid: string;
  source: IdentitySource;
  unionid?: string | null;
  subscribed?: boolean | null;
  profile?: WeChatProfile | null;
  sessionKeySealed?: string | null;
  refreshTokenSealed?: string | null;
  refreshTokenExpiresAt?: Date | null;
}

/** A login session to create in the same statement as the identity (one round trip and one commit per login). */
export interface NewSession {
  tokenHash: string;
  ttlSeconds: number;
}

/** A session handed to the client: only its hash is stored. */
export interface IssuedSession {
  /** The opaque token handed to the client. */
  token: string;
  expiresIn: number;
  expiresAt: Date;
}

/** The user's display fields to set in the same statement as the identity; null or absent keeps the current value. */
export interface UserProfileUpdate {
  nickname?: string | null;
  avatarUrl?: string | null;
}

export interface LinkResult {
  userId: string;
  /** The user was created by this call. */
  isNew: boolean;
}

export interface LoginResult extends LinkResult {
  /** The login's session, written by the identity's own statement. */
  session: IssuedSession;
}

/** An official-account identity's kept OAuth authorization: its refresh_token, still sealed. */
export interface KeptWebAuthorization {
  appid: string;
  openid: string;
  sealed: string;
  /** When WeChat stops taking it (30 days after the authorization); null when unknown. */
  expiresAt: Date | null;
}

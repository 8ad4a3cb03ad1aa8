import { Injectable } from '@nestjs/common';
import { AppException } from 'src/common/errors/app-exception';
import { MeDto } from 'src/identity/dto/me.dto';
import type {
  IssuedSession,
  KeptWebAuthorization,
  LinkResult,
  LoginResult,
  UserProfileUpdate,
  WeChatIdentity,
} from 'src/identity/identity.types';
import { SessionService } from 'src/identity/session.service';
import { sessionTokenHash } from 'src/identity/session-token';
import { IdentityRow, UpsertExtras, UserRepository, UserRow } from 'src/identity/user.repository';

export interface LoginOptions {
  /** Nickname and avatar to set on the user the identity resolves to. */
  userProfile?: UserProfileUpdate;
}

/** Why a binding changed nothing: the identity, or its unionid, belongs to another user who has other identities. */
export type BindConflict = 'identity_taken' | 'unionid_taken';

export type BindResult =
  | { bound: true; userId: string; session: IssuedSession; movedFromUserId: string | null }
  | { bound: false; conflict: BindConflict; ownerId: string };

/** Rolls the binding's transaction back when a concurrent first login gave the identity to someone else. */
class LostToConcurrentLogin extends Error {
  constructor(readonly ownerId: string) {
    super('identity taken by a concurrent login');
  }
}

/**
 * Where both login paths meet: turns a WeChat identity into a user. Exactly one user per (appid, openid), also under
 * concurrent first logins; a new identity whose unionid is known joins that unionid's user. A login never joins an
 * identity to whatever session the browser holds: that is `bind`, asked for explicitly.
 */
@Injectable()
export class IdentityService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionService,
  ) {}

  /**
   * Logs a WeChat identity in as its own user (created on a first login) and issues a session. The identity, the
   * user, the profile and the session are written by one statement (one round trip and one commit per login).
   */
  async login(identity: WeChatIdentity, options: LoginOptions = {}): Promise<LoginResult> {
    const { row, issued } = this.sessions.prepare();
    const link = await this.link(identity, { session: row, userProfile: options.userProfile });
    return { ...link, session: issued };
  }

  /**
   * Account binding (asked for by `userId`): joins the identity to that user and issues them a new session, in one
   * transaction. The identity already theirs: a plain login. The identity of another user who has no other identity:
   * it moves over (that user is left empty and their sessions end). The identity, or its unionid, belonging to
   * another user who has other identities: nothing changes.
   */
  async bind(identity: WeChatIdentity, userId: string, options: LoginOptions = {}): Promise<BindResult> {
    const { row, issued } = this.sessions.prepare();
    try {
      return await this.users.inTransaction(identity.unionid, async (tx) => {
        const owner = await this.users.findIdentityOwner(identity.appid, identity.openid, tx);
        let movedFromUserId: string | null = null;
        if (owner && owner.userId !== userId) {
          if (owner.otherIdentities > 0) {
            return { bound: false, conflict: 'identity_taken', ownerId: owner.userId } as const;
          }
          await this.users.moveIdentity(identity.appid, identity.openid, owner.userId, userId, tx);
          movedFromUserId = owner.userId;
        } else if (!owner && identity.unionid) {
          const unionidOwner = await this.users.findUserIdByUnionid(identity.unionid, tx);
          if (unionidOwner && unionidOwner !== userId) {
            return { bound: false, conflict: 'unionid_taken', ownerId: unionidOwner } as const;
          }
        }
        const result = await this.users.upsertIdentity(identity, userId, false, tx, {
          session: row,
          userProfile: options.userProfile,
        });
        if (result.userId !== userId) {
          throw new LostToConcurrentLogin(result.userId);
        }
        return { bound: true, userId, session: issued, movedFromUserId } as const;
      });
    } catch (error) {
      if (error instanceof LostToConcurrentLogin) {
        return { bound: false, conflict: 'identity_taken', ownerId: error.ownerId };
      }
      throw error;
    }
  }

  /** Keeps a WeChat identity without a login (a follower, a profile refresh): the same statement, no session. */
  linkOrCreate(identity: WeChatIdentity, options: LoginOptions = {}): Promise<LinkResult> {
    return this.link(identity, { userProfile: options.userProfile });
  }

  /** The `/api/me` view of a user. */
  async getMe(userId: string): Promise<MeDto> {
    const user = await this.users.findUserWithIdentities({ userId });
    if (!user) {
      throw AppException.unauthorized();
    }
    return toMe(user);
  }

  /** The `/api/me` view of the user of a live session (one query); null when the token is not a live session. */
  async findMeBySessionToken(token: string | null): Promise<MeDto | null> {
    const hash = sessionTokenHash(token);
    const user = hash ? await this.users.findUserWithIdentities({ sessionTokenHash: hash }) : null;
    return user ? toMe(user) : null;
  }

  updateProfile(userId: string, profile: { nickname?: string; avatarUrl?: string }): Promise<void> {
    return this.users.updateUser(userId, profile);
  }

  setPhone(
    userId: string,
    phone: { phoneNumber: string; purePhoneNumber: string; countryCode: string },
  ): Promise<void> {
    return this.users.updateUser(userId, phone);
  }

  setSubscribed(appid: string, openid: string, subscribed: boolean): Promise<boolean> {
    return this.users.setSubscribed(appid, openid, subscribed);
  }

  /**
   * The user's kept OAuth refresh_tokens (sealed), one per official account, the latest authorization first: the
   * one `/api/me/sync` refreshes with.
   */
  webAuthorizationsOf(userId: string): Promise<KeptWebAuthorization[]> {
    return this.users.findWebAuthorizations(userId);
  }

  private async link(identity: WeChatIdentity, extras: UpsertExtras): Promise<LinkResult> {
    const { unionid } = identity;
    const result = unionid
      ? await this.users.withUnionidLock(unionid, async (manager) => {
          const owner = await this.users.findUserIdByUnionid(unionid, manager);
          return this.users.upsertIdentity(identity, owner ?? this.users.newUserId(), !owner, manager, extras);
        })
      : await this.users.upsertIdentity(identity, this.users.newUserId(), true, undefined, extras);
    return { userId: result.userId, isNew: result.userCreated };
  }
}

function toMe(user: UserRow & { identities: IdentityRow[] }): MeDto {
  return {
    id: user.id,
    nickname: user.nickname,
    avatarUrl: user.avatarUrl,
    unionid: user.identities.find((identity) => identity.unionid)?.unionid ?? null,
    phone: user.phoneNumber,
    countryCode: user.countryCode,
    identities: user.identities.map(({ appid, openid, source, subscribed }) => ({ appid, openid, source, subscribed })),
  };
}

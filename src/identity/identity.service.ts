import { Injectable } from '@nestjs/common';
import { AppException } from 'src/common/errors/app-exception';
import { MeDto } from 'src/identity/dto/me.dto';
import type {
  KeptRefreshToken,
  LinkResult,
  LoginResult,
  UserProfileUpdate,
  WeChatIdentity,
} from 'src/identity/identity.types';
import { SessionService } from 'src/identity/session.service';
import { sessionTokenHash } from 'src/identity/session-token';
import { IdentityRow, UpsertExtras, UserRepository, UserRow } from 'src/identity/user.repository';

export interface LoginOptions {
  /** The user of a live session: a new identity without a unionid owner joins them (account binding). */
  bindToUserId?: string | null;
  /** Nickname and avatar to set on the user the identity resolves to. */
  userProfile?: UserProfileUpdate;
}

/**
 * Where both login paths meet: turns a WeChat identity into a user. Exactly one user per (appid, openid), also under
 * concurrent first logins; a new identity whose unionid is known joins that unionid's user; otherwise, with
 * `bindToUserId` (a live session), it joins the session's user (account binding).
 */
@Injectable()
export class IdentityService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionService,
  ) {}

  /**
   * Logs a WeChat identity in: links it to its user (creating the user on a first login) and issues a session. The
   * identity, the user, the profile and the session are written by one statement (one round trip and one commit
   * per login), for whichever user the identity resolves to.
   */
  async login(identity: WeChatIdentity, options: LoginOptions = {}): Promise<LoginResult> {
    const { row, issued } = this.sessions.prepare();
    const link = await this.link(identity, options.bindToUserId ?? undefined, {
      session: row,
      userProfile: options.userProfile,
    });
    return { ...link, session: issued };
  }

  /** Keeps a WeChat identity without a login (a follower, a profile refresh): the same statement, no session. */
  linkOrCreate(identity: WeChatIdentity, options: Pick<LoginOptions, 'userProfile'> = {}): Promise<LinkResult> {
    return this.link(identity, undefined, { userProfile: options.userProfile });
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

  /** The identity's kept OAuth refresh_token (sealed), or null when none is kept. */
  async refreshTokenOf(appid: string, openid: string): Promise<KeptRefreshToken | null> {
    const kept = await this.users.findRefreshToken(appid, openid);
    return kept?.sealed ? { sealed: kept.sealed, expiresAt: kept.expiresAt } : null;
  }

  setSubscribed(appid: string, openid: string, subscribed: boolean): Promise<boolean> {
    return this.users.setSubscribed(appid, openid, subscribed);
  }

  private async link(
    identity: WeChatIdentity,
    bindToUserId: string | undefined,
    extras: UpsertExtras,
  ): Promise<LinkResult> {
    const { unionid } = identity;
    const result = unionid
      ? await this.users.withUnionidLock(unionid, async (manager) => {
          const owner = (await this.users.findUserIdByUnionid(unionid, manager)) ?? bindToUserId;
          return this.users.upsertIdentity(identity, owner ?? this.users.newUserId(), !owner, manager, extras);
        })
      : await this.users.upsertIdentity(
          identity,
          bindToUserId ?? this.users.newUserId(),
          !bindToUserId,
          undefined,
          extras,
        );
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

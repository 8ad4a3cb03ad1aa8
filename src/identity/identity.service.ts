import { Injectable } from '@nestjs/common';
import { AppException } from 'src/common/errors/app-exception';
import { IdentityRow, IdentityUpsert, UpsertExtras, UserRepository, UserRow } from 'src/identity/user.repository';
import { MeDto } from 'src/identity/dto/me.dto';
import { sessionTokenHash } from 'src/identity/session-token';

export type WeChatIdentity = IdentityUpsert;

export interface LinkResult {
  userId: string;
  /** The user was created by this login. */
  isNew: boolean;
  /** The identity (appid, openid) was created by this login. */
  identityCreated: boolean;
}

/**
 * Where both login paths meet: turns a WeChat identity into a user. Exactly one user per (appid, openid), also under
 * concurrent first logins; a new identity whose unionid is known joins that unionid's user; otherwise, with
 * `bindToUserId` (a live session), it joins the session's user (account binding).
 */
@Injectable()
export class IdentityService {
  constructor(private readonly users: UserRepository) {}

  /**
   * `session` and `userProfile` are written by the identity's own statement (one round trip and one commit per
   * login), for whichever user the identity resolves to.
   */
  async linkOrCreate(
    identity: WeChatIdentity,
    options: { bindToUserId?: string } & UpsertExtras = {},
  ): Promise<LinkResult> {
    const { unionid } = identity;
    const { bindToUserId, ...extras } = options;
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
    return { userId: result.userId, isNew: result.userCreated, identityCreated: result.identityCreated };
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

  findSealedSecret(appid: string, openid: string, secret: 'session_key_sealed' | 'refresh_token_sealed') {
    return this.users.findSealedSecret(appid, openid, secret);
  }

  setSubscribed(appid: string, openid: string, subscribed: boolean): Promise<boolean> {
    return this.users.setSubscribed(appid, openid, subscribed);
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

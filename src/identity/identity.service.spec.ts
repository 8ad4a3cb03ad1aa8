import type { ConfigService } from '@nestjs/config';
import { sha256Hex } from 'src/common/sealing/secret-sealer';
import type { Configuration } from 'src/config/configuration';
import { IdentityService } from 'src/identity/identity.service';
import type { WeChatIdentity } from 'src/identity/identity.types';
import type { SessionRepository } from 'src/identity/session.repository';
import { SessionService } from 'src/identity/session.service';
import type { UpsertExtras, UserRepository } from 'src/identity/user.repository';

interface UpsertCall {
  identity: WeChatIdentity;
  candidateUserId: string;
  createUser: boolean;
  inLock: boolean;
  extras: UpsertExtras;
}

/** Records the identity statements; `unionidOwner` is the user an existing unionid belongs to. */
class FakeUsers {
  calls: UpsertCall[] = [];
  locks: string[] = [];
  unionidOwner: string | null = null;
  kept: { sealed: string | null; expiresAt: Date | null } | null = null;
  asked: string[] = [];
  private inLock = false;

  upsertIdentity(
    identity: WeChatIdentity,
    candidateUserId: string,
    createUser: boolean,
    _manager: unknown,
    extras: UpsertExtras,
  ) {
    this.calls.push({ identity, candidateUserId, createUser, inLock: this.inLock, extras });
    return Promise.resolve({ userId: candidateUserId, identityCreated: true, userCreated: createUser });
  }

  async withUnionidLock<T>(unionid: string, work: (manager: unknown) => Promise<T>): Promise<T> {
    this.locks.push(unionid);
    this.inLock = true;
    try {
      return await work({});
    } finally {
      this.inLock = false;
    }
  }

  findUserIdByUnionid(): Promise<string | null> {
    return Promise.resolve(this.unionidOwner);
  }

  findRefreshToken(appid: string, openid: string) {
    this.asked.push(`${appid}/${openid}`);
    return Promise.resolve(this.kept);
  }

  newUserId(): string {
    return 'new-user';
  }
}

describe(IdentityService.name, () => {
  const identity: WeChatIdentity = { appid: 'wx-mp', openid: 'o-1', source: 'mini_program' };
  let users: FakeUsers;
  let sut: IdentityService;

  beforeEach(() => {
    users = new FakeUsers();
    const config = { get: () => ({ sessionTtlSeconds: 3600 }) } as unknown as ConfigService<Configuration, true>;
    const sessions = new SessionService({} as SessionRepository, config);
    sut = new IdentityService(users as unknown as UserRepository, sessions);
  });

  describe('login', () => {
    it('should write the identity, a new user and the session in one statement and hand back that session', async () => {
      const result = await sut.login(identity);
      expect(users.calls).toHaveLength(1);
      const [call] = users.calls;
      expect(call).toMatchObject({ identity, candidateUserId: 'new-user', createUser: true, inLock: false });
      expect(call.extras.session).toEqual({ tokenHash: sha256Hex(result.session.token), ttlSeconds: 3600 });
      expect(result).toEqual({
        userId: 'new-user',
        isNew: true,
        session: { token: expect.any(String), expiresIn: 3600, expiresAt: expect.any(Date) },
      });
    });

    it('should give a new identity to the session user when binding, without creating a user', async () => {
      const result = await sut.login(identity, { bindToUserId: 'bound-user' });
      expect(users.calls[0]).toMatchObject({ candidateUserId: 'bound-user', createUser: false });
      expect(result).toMatchObject({ userId: 'bound-user', isNew: false });
    });

    it("should join a known unionid's user, under the unionid lock", async () => {
      users.unionidOwner = 'unionid-owner';
      const result = await sut.login({ ...identity, unionid: 'u-1' }, { bindToUserId: 'bound-user' });
      expect(users.locks).toEqual(['u-1']);
      expect(users.calls[0]).toMatchObject({ candidateUserId: 'unionid-owner', createUser: false, inLock: true });
      expect(result.userId).toBe('unionid-owner');
    });

    it('should pass the user profile to the same statement', async () => {
      await sut.login(identity, { userProfile: { nickname: 'Wei', avatarUrl: null } });
      expect(users.calls[0].extras.userProfile).toEqual({ nickname: 'Wei', avatarUrl: null });
    });
  });

  describe('linkOrCreate', () => {
    it('should write the identity without a session', async () => {
      const result = await sut.linkOrCreate({ ...identity, subscribed: true });
      expect(users.calls).toHaveLength(1);
      expect(users.calls[0].extras.session).toBeUndefined();
      expect(result).toEqual({ userId: 'new-user', isNew: true });
    });
  });

  describe('refreshTokenOf', () => {
    it('should read the sealed refresh_token and when it lapses', async () => {
      const expiresAt = new Date('2030-01-01T00:00:00Z');
      users.kept = { sealed: 'v1.sealed', expiresAt };
      await expect(sut.refreshTokenOf('wx-oa', 'o-1')).resolves.toEqual({ sealed: 'v1.sealed', expiresAt });
      expect(users.asked).toEqual(['wx-oa/o-1']);
    });

    it('should answer null when no identity or no refresh_token is kept', async () => {
      await expect(sut.refreshTokenOf('wx-oa', 'o-1')).resolves.toBeNull();
      users.kept = { sealed: null, expiresAt: null };
      await expect(sut.refreshTokenOf('wx-oa', 'o-1')).resolves.toBeNull();
    });
  });
});

import type { ConfigService } from '@nestjs/config';
import { sha256Hex } from 'src/common/sealing/secret-sealer';
import type { Configuration } from 'src/config/configuration';
import { IdentityService } from 'src/identity/identity.service';
import type { KeptWebAuthorization, WeChatIdentity } from 'src/identity/identity.types';
import type { SessionRepository } from 'src/identity/session.repository';
import { SessionService } from 'src/identity/session.service';
import type { IdentityOwner, UpsertExtras, UserRepository } from 'src/identity/user.repository';

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
  /** What findIdentityOwner answers; `resolvesTo` overrides the user the upsert lands on (a concurrent login). */
  owner: IdentityOwner | null = null;
  resolvesTo: string | null = null;
  moved: string[] = [];
  transactions = 0;
  authorizations: KeptWebAuthorization[] = [];
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
    return Promise.resolve({
      userId: this.resolvesTo ?? candidateUserId,
      identityCreated: true,
      userCreated: createUser,
    });
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

  async inTransaction<T>(unionid: string | null | undefined, work: (manager: unknown) => Promise<T>): Promise<T> {
    this.transactions += 1;
    return unionid ? this.withUnionidLock(unionid, work) : work({});
  }

  findIdentityOwner(): Promise<IdentityOwner | null> {
    return Promise.resolve(this.owner);
  }

  moveIdentity(appid: string, openid: string, from: string, to: string): Promise<void> {
    this.moved.push(`${appid}/${openid}: ${from} -> ${to}`);
    return Promise.resolve();
  }

  findWebAuthorizations(userId: string): Promise<KeptWebAuthorization[]> {
    this.asked.push(userId);
    return Promise.resolve(this.authorizations);
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

    it("should join a known unionid's user, under the unionid lock", async () => {
      users.unionidOwner = 'unionid-owner';
      const result = await sut.login({ ...identity, unionid: 'u-1' });
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

  describe('bind', () => {
    it('should join a new identity to the user who asked, with their new session, without creating a user', async () => {
      const result = await sut.bind(identity, 'binder');
      expect(users.transactions).toBe(1);
      expect(users.calls).toHaveLength(1);
      expect(users.calls[0]).toMatchObject({ candidateUserId: 'binder', createUser: false });
      expect(result).toMatchObject({ bound: true, userId: 'binder', movedFromUserId: null });
      const issued = result as Extract<typeof result, { bound: true }>;
      expect(users.calls[0].extras.session?.tokenHash).toBe(sha256Hex(issued.session.token));
    });

    it("should keep an identity that is already the user's and only refresh it", async () => {
      users.owner = { userId: 'binder', otherIdentities: 2 };
      const result = await sut.bind(identity, 'binder');
      expect(users.moved).toEqual([]);
      expect(result).toMatchObject({ bound: true, userId: 'binder', movedFromUserId: null });
    });

    it('should change nothing when the identity belongs to another user with other identities', async () => {
      users.owner = { userId: 'other', otherIdentities: 1 };
      const result = await sut.bind(identity, 'binder');
      expect(result).toEqual({ bound: false, conflict: 'identity_taken', ownerId: 'other' });
      expect(users.calls).toEqual([]);
      expect(users.moved).toEqual([]);
    });

    it('should move the identity of another user who has no other identity', async () => {
      users.owner = { userId: 'lonely', otherIdentities: 0 };
      const result = await sut.bind(identity, 'binder');
      expect(users.moved).toEqual(['wx-mp/o-1: lonely -> binder']);
      expect(result).toMatchObject({ bound: true, userId: 'binder', movedFromUserId: 'lonely' });
    });

    it('should change nothing when a new identity carries a unionid of another user, under the unionid lock', async () => {
      users.unionidOwner = 'unionid-owner';
      const result = await sut.bind({ ...identity, unionid: 'u-1' }, 'binder');
      expect(users.locks).toEqual(['u-1']);
      expect(result).toEqual({ bound: false, conflict: 'unionid_taken', ownerId: 'unionid-owner' });
      expect(users.calls).toEqual([]);
    });

    it("should bind a new identity whose unionid is already the user's own", async () => {
      users.unionidOwner = 'binder';
      const result = await sut.bind({ ...identity, unionid: 'u-1' }, 'binder');
      expect(result).toMatchObject({ bound: true, userId: 'binder' });
    });

    it('should answer a conflict when a concurrent first login took the identity meanwhile', async () => {
      users.resolvesTo = 'racer';
      const result = await sut.bind(identity, 'binder');
      expect(result).toEqual({ bound: false, conflict: 'identity_taken', ownerId: 'racer' });
    });
  });

  describe('webAuthorizationsOf', () => {
    it("should read the user's kept refresh_tokens, sealed, as the repository orders them", async () => {
      const expiresAt = new Date('2030-01-01T00:00:00Z');
      users.authorizations = [{ appid: 'wx-oa', openid: 'o-1', sealed: 'v1.sealed', expiresAt }];
      await expect(sut.webAuthorizationsOf('user-1')).resolves.toEqual(users.authorizations);
      expect(users.asked).toEqual(['user-1']);
    });
  });
});

import { Logger } from '@nestjs/common';
import { SecretSealer, sha256Hex } from 'src/common/sealing/secret-sealer';
import type { Change, ChangeFeed } from 'src/database/change-feed';
import type { Metrics } from 'src/metrics/metrics';
import type { SqlTx } from 'src/database/sql';
import type { AccessTokenRepository, NewAccessToken, StoredAccessToken } from 'src/token/access-token.repository';
import type { CredentialKind } from 'src/token/credential-kind';
import { CredentialStore, refreshMarginSeconds } from 'src/token/credential-store';

describe(refreshMarginSeconds.name, () => {
  it.each([
    [7200, 300],
    [3600, 300],
    [600, 300],
    [300, 150],
    [60, 30],
  ])('should refresh a %i-second token %i seconds before it expires', (expiresIn, margin) => {
    expect(refreshMarginSeconds(expiresIn)).toBe(margin);
  });
});

/** The `access_tokens` rows in memory; `gate` holds expireIfCurrent back until released, to order a race. */
class FakeRepository {
  rows = new Map<string, StoredAccessToken>();
  finds = 0;
  gate?: Promise<void>;

  find(kind: CredentialKind, appid: string): Promise<StoredAccessToken | null> {
    this.finds += 1;
    return Promise.resolve(this.rows.get(`${kind}:${appid}`) ?? null);
  }

  withFetchLock<T>(_kind: CredentialKind, _appid: string, work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return work({} as SqlTx);
  }

  save(token: NewAccessToken): Promise<void> {
    this.put(token.kind, token.appid, token.accessTokenSealed, new Date(token.refreshAt));
    return Promise.resolve();
  }

  async expireIfCurrent(kind: CredentialKind, appid: string, hash: string): Promise<boolean> {
    await this.gate;
    const row = this.rows.get(`${kind}:${appid}`);
    if (!row || row.tokenHash !== hash) {
      return false;
    }
    row.refreshAt = new Date(Date.now() - 1000);
    return true;
  }

  put(kind: CredentialKind, appid: string, value: string, refreshAt = new Date(Date.now() + 3600_000)): void {
    this.rows.set(`${kind}:${appid}`, {
      appid,
      kind,
      accessTokenSealed: value,
      tokenHash: sha256Hex(value),
      expiresAt: new Date(refreshAt.getTime() + 300_000),
      refreshAt,
      forceRefreshesToday: 0,
      lastForceRefreshAt: null,
    });
  }
}

class FakeFeed {
  connected = true;
  handlers = new Map<string, ((change: Change) => void)[]>();
  resyncs: (() => void)[] = [];

  subscribe(topic: string, handler: (change: Change) => void): () => void {
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler]);
    return () => undefined;
  }

  onResync(handler: () => void): () => void {
    this.resyncs.push(handler);
    return () => undefined;
  }

  emit(change: Change): void {
    for (const handler of this.handlers.get(change.topic) ?? []) {
      handler(change);
    }
  }
}

const identitySealer = { seal: (value: string) => value, open: (value: string) => value } as unknown as SecretSealer;

describe(CredentialStore.name, () => {
  let repository: FakeRepository;
  let feed: FakeFeed;
  let sut: CredentialStore;
  let fetches: number;
  const fetcher = (value: string) => () => {
    fetches += 1;
    return Promise.resolve({ value, expiresIn: 7200 });
  };
  let fetchesCounted: unknown[][];
  const get = (value = 'fetched', notHash?: string) =>
    sut.get('access_token', 'wx1', fetcher(value), { notHash }).then((credential) => credential.value);

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    repository = new FakeRepository();
    feed = new FakeFeed();
    fetches = 0;
    fetchesCounted = [];
    sut = new CredentialStore(
      repository as unknown as AccessTokenRepository,
      identitySealer,
      feed as unknown as ChangeFeed,
      { tokenFetch: (...args: unknown[]) => void fetchesCounted.push(args) } as unknown as Metrics,
    );
    sut.onModuleInit();
    repository.put('access_token', 'wx1', 'token-x');
  });

  afterEach(() => jest.restoreAllMocks());

  it('should serve the memory copy until a notification names another hash', async () => {
    expect(await get()).toBe('token-x');
    repository.put('access_token', 'wx1', 'token-y');
    expect(await get()).toBe('token-x');
    feed.emit({ topic: 'token', key: 'access_token:wx1', detail: sha256Hex('token-x') });
    expect(await get()).toBe('token-x');
    feed.emit({ topic: 'token', key: 'access_token:wx1', detail: sha256Hex('token-y') });
    expect(await get()).toBe('token-y');
    expect(fetches).toBe(0);
  });

  it('should drop the copy on a dropped notification, a resync and a change of the account', async () => {
    await get();
    for (const drop of [
      () => feed.emit({ topic: 'token', key: 'access_token:wx1', detail: 'dropped' }),
      () => feed.resyncs.forEach((resync) => resync()),
      () => feed.emit({ topic: 'account', key: 'wx1' }),
    ]) {
      const before = repository.finds;
      drop();
      await get();
      expect(repository.finds).toBe(before + 1);
    }
  });

  it('should read the row on every call while the feed is not connected', async () => {
    await get();
    feed.connected = false;
    repository.put('access_token', 'wx1', 'token-y');
    expect(await get()).toBe('token-y');
    expect(await get()).toBe('token-y');
    expect(repository.finds).toBe(3);
  });

  it('should serve the memory copy until it expires while the database is down, and never one a notification dropped', async () => {
    await get();
    feed.connected = false;
    // The feed's loss (and its 30-s timer) resyncs: the memory copy is dropped, the last value read is kept.
    feed.resyncs.forEach((resync) => resync());
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    jest.spyOn(repository, 'find').mockRejectedValue(down);
    const now = Date.now();
    // Past its refresh time (3600 s) but before its expiry (3900 s): still served.
    jest.spyOn(Date, 'now').mockReturnValue(now + 3700_000);
    expect(await get()).toBe('token-x');
    // Past its expiry: the outage shows.
    jest.spyOn(Date, 'now').mockReturnValue(now + 3950_000);
    await expect(get()).rejects.toBe(down);
    jest.spyOn(Date, 'now').mockReturnValue(now);
    expect(await get()).toBe('token-x');
    feed.emit({ topic: 'token', key: 'access_token:wx1', detail: 'dropped' });
    await expect(get()).rejects.toBe(down);
    expect(fetches).toBe(0);
  });

  it('should keep the last value read for an outage even when a resync came while it was being read', async () => {
    // The feed resyncs (every 30 s, or on reconnecting) in the middle of the only read before the outage.
    const read = get();
    feed.resyncs.forEach((resync) => resync());
    expect(await read).toBe('token-x');
    feed.connected = false;
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    jest.spyOn(repository, 'find').mockRejectedValue(down);
    expect(await get()).toBe('token-x');
  });

  it('should not serve the memory copy when the row read fails for another reason than the database being down', async () => {
    await get();
    feed.connected = false;
    const bug = new Error('syntax error at or near "SELEC"');
    jest.spyOn(repository, 'find').mockRejectedValue(bug);
    await expect(get()).rejects.toBe(bug);
  });

  it('should not keep a value read before a notification that replaced it', async () => {
    const read = get();
    feed.emit({ topic: 'token', key: 'access_token:wx1', detail: sha256Hex('token-y') });
    await read;
    repository.put('access_token', 'wx1', 'token-y');
    expect(await get()).toBe('token-y');
  });

  it('should never answer a caller the token it saw rejected, even when a concurrent read re-installs it', async () => {
    await get();
    let release!: () => void;
    repository.gate = new Promise((resolve) => (release = resolve));
    // The rejection drops the memory copy; the expiry is still on its way to the database.
    const rejecting = sut.reject('access_token', 'wx1', 'token-x');
    // Meanwhile another caller misses memory and reads the row, which still holds the rejected token.
    expect(await get()).toBe('token-x');
    release();
    await rejecting;
    const retried = await Promise.all([1, 2, 3].map(() => get('token-y', sha256Hex('token-x'))));
    expect(retried).toEqual(['token-y', 'token-y', 'token-y']);
    expect(fetches).toBe(1);
    expect(await get()).toBe('token-y');
  });

  it('should replace a rejected token that is still stored even if nobody expired it', async () => {
    await get();
    expect(await get('token-y', sha256Hex('token-x'))).toBe('token-y');
    expect(await get('token-z', sha256Hex('token-x'))).toBe('token-y');
    expect(fetches).toBe(1);
  });
  it('should count each fetch from WeChat by its reason and outcome', async () => {
    repository.rows.clear();
    await get('first');
    await get('second', sha256Hex('first'));
    expect(fetchesCounted).toEqual([
      ['wx1', 'access_token', 'expired', 'ok'],
      ['wx1', 'access_token', 'rejected', 'ok'],
    ]);
  });
});

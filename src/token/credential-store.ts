import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ACCOUNT_TOPIC } from 'src/accounts/account.repository';
import { AppException } from 'src/common/errors/app-exception';
import { SecretSealer, sha256Hex } from 'src/common/sealing/secret-sealer';
import { ChangeFeed } from 'src/database/change-feed';
import { isDatabaseDownError } from 'src/database/database-errors';
import { Metrics, TokenFetchReason } from 'src/metrics/metrics';
import { SqlTx } from 'src/database/sql';
import { AccessTokenRepository, StoredAccessToken } from 'src/token/access-token.repository';
import { CREDENTIAL_KINDS, CREDENTIAL_TOPIC, credentialKey, CredentialKind, DROPPED } from 'src/token/credential-kind';

/** A token or ticket as the store hands it out. */
export interface Credential {
  appid: string;
  kind: CredentialKind;
  value: string;
  /** SHA-256 of `value`: what notifications and compare-and-expire compare. */
  hash: string;
  expiresAt: Date;
  /** Epoch ms after which the value is due for refresh (a margin before `expiresAt`). */
  refreshAt: number;
}

/** What WeChat answered a fetch with. */
export interface Fetched {
  value: string;
  expiresIn: number;
}

/** Fetches a new value of one kind from WeChat (`/cgi-bin/stable_token`, `/cgi-bin/ticket/getticket`, …). */
export type Fetcher = () => Promise<Fetched>;

export interface GetOptions {
  /**
   * The hash of a value WeChat has just rejected: never answer with it. If the memory copy or the row still holds
   * it, it is replaced under the fetch lock (whoever holds the lock first fetches; the others find the new value).
   */
  notHash?: string;
}

/** When a read began: the resyncs so far (`epoch`) and the drops of its key (`drops`). */
interface Generation {
  epoch: number;
  drops: number;
}

/** Refresh a margin before expiry: five minutes (WeChat issues the next token then), at most half the lifetime. */
export function refreshMarginSeconds(expiresIn: number): number {
  return Math.min(300, Math.floor(expiresIn / 2));
}

/**
 * The one code path for every credential WeChat issues per appid and the service shares (access tokens, jsapi
 * tickets): kept in PostgreSQL (`access_tokens`, sealed), fetched at most once at a time across all instances (an
 * advisory lock per appid and kind; in-process callers share one fetch), refreshed a margin before expiry, and
 * compare-and-expired when WeChat rejects a value. Each kind brings its own fetcher.
 *
 * Every replacement and every expiry is announced on the change feed in its own transaction, and every instance
 * drops its memory copy when the announced hash differs from it. So a memory copy is trusted until its refresh time
 * while the feed is connected; while it is not, every read goes to the row. A resync (after a reconnect, and every
 * 30 s) drops every copy: the safety net for a notification that never arrived.
 *
 * When the row cannot be read because the database is down, the last value read is served until it expires (not
 * just until its refresh time; the feed is down too, so its resyncs have dropped `memory`): WeChat still accepts
 * it, and it cannot have been replaced meanwhile, since a replacement (a fetch, a force_refresh, a
 * compare-and-expire) is a write to that same database. A value a notification or a rejection dropped is never
 * served this way. (The one case this does not cover: the database unreachable from this instance only,
 * while another replaces the value; the copy is then served until this instance reaches the database or the copy
 * expires.)
 */
@Injectable()
export class CredentialStore implements OnModuleInit {
  private readonly logger = new Logger(CredentialStore.name);
  private readonly memory = new Map<string, Credential>();
  /**
   * The last value installed per key, kept through resyncs (which drop `memory` because a notification may have been
   * missed) but dropped with it by anything that says the value is replaced or bad: served only while the database
   * cannot be read (see the class comment).
   */
  private readonly lastKnown = new Map<string, Credential>();
  private readonly inflight = new Map<string, Promise<Credential>>();
  /**
   * Bumped whenever a key's copy is dropped: a read that began before the drop must not install what it read (it
   * may be the value just replaced), unless it is the value announced since.
   */
  private readonly generations = new Map<string, number>();
  private readonly announced = new Map<string, string>();
  private epoch = 0;

  constructor(
    private readonly repository: AccessTokenRepository,
    private readonly sealer: SecretSealer,
    private readonly feed: ChangeFeed,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.feed.subscribe(CREDENTIAL_TOPIC, (change) => this.heard(change.key, change.detail));
    // A deleted account takes its rows with it (AccountRepository.delete); a changed one may have a new secret.
    this.feed.subscribe(ACCOUNT_TOPIC, (change) => {
      for (const kind of CREDENTIAL_KINDS) {
        this.drop(credentialKey(kind, change.key));
      }
    });
    this.feed.onResync(() => this.dropAll());
  }

  /** The current value of `kind` for `appid`, fetched with `fetch` only when the shared row is due for refresh. */
  get(kind: CredentialKind, appid: string, fetch: Fetcher, options: GetOptions = {}): Promise<Credential> {
    const key = credentialKey(kind, appid);
    const { notHash } = options;
    const cached = this.memory.get(key);
    if (cached && cached.refreshAt > Date.now() && cached.hash !== notHash && this.feed.connected) {
      return Promise.resolve(cached);
    }
    if (cached && cached.hash === notHash) {
      this.drop(key);
    }
    // Callers that must avoid a value share a read of their own: a read begun before the rejection may return it.
    const flight = notHash ? `${key}|${notHash}` : key;
    let pending = this.inflight.get(flight);
    if (!pending) {
      pending = this.load(kind, appid, fetch, notHash).finally(() => this.inflight.delete(flight));
      this.inflight.set(flight, pending);
    }
    return pending.catch((error: unknown) => {
      const last = this.lastKnown.get(key);
      if (isDatabaseDownError(error) && last && last.hash !== notHash && last.expiresAt.getTime() > Date.now()) {
        return last;
      }
      throw error;
    });
  }

  /**
   * Compare-and-expire after WeChat rejected `value`: the row is marked due only if it still holds it (another
   * instance may have replaced it already), and the expiry is announced. True when this call expired it.
   */
  async reject(kind: CredentialKind, appid: string, value: string): Promise<boolean> {
    const key = credentialKey(kind, appid);
    const hash = sha256Hex(value);
    if (this.memory.get(key)?.hash === hash || this.lastKnown.get(key)?.hash === hash) {
      this.drop(key);
    }
    return this.repository.expireIfCurrent(kind, appid, hash);
  }

  /**
   * Replaces the value under the fetch lock whatever its state (force_refresh): `fetch` sees the stored row first,
   * to refuse (throw) before calling WeChat. `forced` counts the replacement against the daily quota.
   */
  async replace(
    kind: CredentialKind,
    appid: string,
    fetch: (stored: StoredAccessToken | null) => Promise<Fetched>,
    forced: boolean,
  ): Promise<Credential> {
    const key = credentialKey(kind, appid);
    const generation = this.generation(key);
    const fresh = await this.repository.withFetchLock(kind, appid, async (tx) => {
      const stored = await this.repository.find(kind, appid, tx);
      return this.store(kind, appid, await this.counted(kind, appid, 'forced', () => fetch(stored)), tx, forced);
    });
    this.install(key, fresh, generation);
    return fresh;
  }

  private async load(
    kind: CredentialKind,
    appid: string,
    fetch: Fetcher,
    notHash: string | undefined,
  ): Promise<Credential> {
    const key = credentialKey(kind, appid);
    const generation = this.generation(key);
    let credential = this.usable(await this.repository.find(kind, appid), notHash);
    if (!credential) {
      credential = await this.repository.withFetchLock(kind, appid, async (tx) => {
        // Another instance (or caller) may have replaced it while we waited for the lock: use its value.
        const again = this.usable(await this.repository.find(kind, appid, tx), notHash);
        if (again) {
          return again;
        }
        const reason = notHash ? 'rejected' : 'expired';
        const fetched = await this.store(kind, appid, await this.counted(kind, appid, reason, fetch), tx, false);
        this.logger.log(`Fetched a new ${kind} for ${appid}`);
        return fetched;
      });
    }
    this.install(key, credential, generation);
    return credential;
  }

  /** Runs a fetch from WeChat, counted in `wechat_token_fetches_total` by its reason and outcome. */
  private counted<T>(kind: CredentialKind, appid: string, reason: TokenFetchReason, fetch: () => Promise<T>) {
    return fetch().then(
      (fetched) => {
        this.metrics.tokenFetch(appid, kind, reason, 'ok');
        return fetched;
      },
      (error: unknown) => {
        this.metrics.tokenFetch(appid, kind, reason, 'error');
        throw error;
      },
    );
  }

  private async store(kind: CredentialKind, appid: string, fetched: Fetched, tx: SqlTx, forced: boolean) {
    if (typeof fetched.value !== 'string' || !fetched.value || !(fetched.expiresIn > 0)) {
      throw new AppException(502, 'wechat_unavailable', `WeChat answered the ${kind} request without one.`);
    }
    const now = Date.now();
    const credential: Credential = {
      appid,
      kind,
      value: fetched.value,
      hash: sha256Hex(fetched.value),
      expiresAt: new Date(now + fetched.expiresIn * 1000),
      refreshAt: now + (fetched.expiresIn - refreshMarginSeconds(fetched.expiresIn)) * 1000,
    };
    await this.repository.save(
      {
        appid,
        kind,
        accessTokenSealed: this.sealer.seal(credential.value),
        tokenHash: credential.hash,
        expiresAt: credential.expiresAt,
        refreshAt: new Date(credential.refreshAt),
      },
      tx,
      forced,
    );
    return credential;
  }

  /** A stored value still before its refresh time and not the one to avoid, or null. */
  private usable(stored: StoredAccessToken | null, notHash: string | undefined): Credential | null {
    if (!stored || stored.tokenHash === notHash) {
      return null;
    }
    const refreshAt = new Date(stored.refreshAt).getTime();
    if (refreshAt <= Date.now()) {
      return null;
    }
    return {
      appid: stored.appid,
      kind: stored.kind,
      value: this.sealer.open(stored.accessTokenSealed),
      hash: stored.tokenHash,
      expiresAt: new Date(stored.expiresAt),
      refreshAt,
    };
  }

  /**
   * Keeps `credential`, read when the key's generation was `seen`, unless the key was dropped since for another value:
   * in memory, and as the last value known for an outage. A resync meanwhile (every key's copy dropped, as a
   * notification may have been missed) keeps it out of memory, but not out of `lastKnown`, which resyncs keep.
   */
  private install(key: string, credential: Credential, seen: Generation): void {
    const now = this.generation(key);
    const announced = this.announced.get(key) === credential.hash;
    if (announced || now.drops === seen.drops) {
      this.lastKnown.set(key, credential);
      if (announced || now.epoch === seen.epoch) {
        this.memory.set(key, credential);
      }
    }
  }

  private heard(key: string, detail: string | undefined): void {
    if (detail && detail !== DROPPED && this.memory.get(key)?.hash === detail) {
      return;
    }
    this.drop(key);
    if (detail && detail !== DROPPED) {
      this.announced.set(key, detail);
    }
  }

  private drop(key: string): void {
    this.memory.delete(key);
    this.lastKnown.delete(key);
    this.announced.delete(key);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
  }

  private dropAll(): void {
    this.memory.clear();
    this.announced.clear();
    this.epoch += 1;
  }

  private generation(key: string): Generation {
    return { epoch: this.epoch, drops: this.generations.get(key) ?? 0 };
  }
}

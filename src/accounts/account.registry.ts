import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Account, AccountKind, MiniProgram, OfficialAccount } from 'src/accounts/account';
import { ACCOUNT_TOPIC, AccountRepository, StoredAccount } from 'src/accounts/account.repository';
import { AppException } from 'src/common/errors/app-exception';
import { SecretSealer } from 'src/common/sealing/secret-sealer';
import type { Configuration, WeChatConfig } from 'src/config/configuration';
import { ChangeFeed } from 'src/database/change-feed';

const DEFAULT_WELCOME_TEXT = '感谢关注！';

/** The env official account of `WECHAT_OA_*`; an empty one when none of them is set. */
function envOfficialAccount(wechat: WeChatConfig): OfficialAccount {
  const { oa } = wechat;
  return {
    kind: 'official_account',
    source: 'env',
    appid: oa.appId,
    name: null,
    secret: oa.secret,
    token: oa.token,
    aesKeys: [oa.aesKey, oa.aesKeyPrevious].filter((key): key is string => Boolean(key)),
    welcomeText: oa.welcomeText,
    domainVerify: oa.domainVerify,
    forwardUrl: oa.forwardUrl,
    createdAt: null,
    updatedAt: null,
  };
}

function envMiniProgram(wechat: WeChatConfig): MiniProgram {
  const { mp } = wechat;
  return {
    kind: 'mini_program',
    source: 'env',
    appid: mp.appId,
    name: null,
    secret: mp.secret,
    createdAt: null,
    updatedAt: null,
  };
}

/** True when at least one variable of the env account is set: only then is it "the env account of that kind". */
function isDefined(account: Account): boolean {
  if (account.appid || account.secret) {
    return true;
  }
  return account.kind === 'official_account' && (Boolean(account.token) || account.aesKeys.length > 0);
}

const LABEL: Record<AccountKind, string> = { official_account: 'official account', mini_program: 'mini-program' };

/**
 * Every official account and mini-program this deployment serves, and the one place that answers "which account":
 * the env accounts (`WECHAT_OA_*`, `WECHAT_MP_*`) are read once at start-up, the API accounts come from
 * `wechat_accounts` and are re-read whenever the change feed says one changed (any instance's admin API), after the
 * feed reconnects, and every 30 s. Nothing else reads account configuration.
 *
 * Where a caller gives no appid, the account is the env account of that kind; without one, the only account of that
 * kind; with several and none from env, a 400 naming `appid`.
 */
@Injectable()
export class AccountRegistry implements OnModuleInit {
  private readonly logger = new Logger(AccountRegistry.name);
  private readonly envOfficialAccount: OfficialAccount;
  private readonly envMiniProgram: MiniProgram;
  private api = new Map<string, Account>();
  private reloading?: Promise<void>;
  private reloadAgain = false;

  constructor(
    config: ConfigService<Configuration, true>,
    private readonly repository: AccountRepository,
    private readonly sealer: SecretSealer,
    private readonly feed: ChangeFeed,
  ) {
    const wechat = config.get('wechat', { infer: true });
    this.envOfficialAccount = envOfficialAccount(wechat);
    this.envMiniProgram = envMiniProgram(wechat);
  }

  async onModuleInit(): Promise<void> {
    this.feed.subscribe(ACCOUNT_TOPIC, () => void this.reload());
    this.feed.onResync(() => void this.reload());
    await this.load();
    if (this.envOfficialAccount.appid) {
      const adopted = await this.repository.adoptDefaultRules(this.envOfficialAccount.appid);
      if (adopted > 0) {
        this.logger.log(`${adopted} auto-reply rule(s) from before accounts were data now belong to the env account`);
      }
    }
  }

  /** The official account `appid`, or the default one when `appid` is left out (see the class comment). */
  officialAccount(appid?: string): OfficialAccount {
    return this.resolve('official_account', appid) as OfficialAccount;
  }

  /** The mini-program `appid`, or the default one when `appid` is left out. */
  miniProgram(appid?: string): MiniProgram {
    return this.resolve('mini_program', appid) as MiniProgram;
  }

  /** The account `appid` of either kind, if this deployment has it. */
  find(appid: string): Account | undefined {
    if (this.envOfficialAccount.appid === appid) {
      return this.envOfficialAccount;
    }
    return this.envMiniProgram.appid === appid ? this.envMiniProgram : this.api.get(appid);
  }

  /** Every account: the env ones that are set, then the API ones, oldest first. */
  list(): Account[] {
    const env = [this.envOfficialAccount, this.envMiniProgram].filter(isDefined);
    return [...env, ...this.api.values()];
  }

  /** Every official account (to find the one a `MP_verify_*.txt` or webhook path is for). */
  officialAccounts(): OfficialAccount[] {
    return this.list().filter((account): account is OfficialAccount => account.kind === 'official_account');
  }

  /**
   * Re-reads the API accounts now (after a write of this instance, so that its answer and its next requests see
   * it without waiting for the notification). Concurrent calls share one read, plus one more if asked meanwhile.
   */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.load()
      .catch((error: unknown) => this.logger.warn(`Could not re-read the accounts: ${String(error)}`))
      .finally(() => {
        this.reloading = undefined;
        if (this.reloadAgain) {
          this.reloadAgain = false;
          void this.reload();
        }
      });
    return this.reloading;
  }

  private resolve(kind: AccountKind, appid: string | undefined): Account {
    if (appid !== undefined) {
      const account = this.find(appid);
      if (!account || account.kind !== kind) {
        throw AppException.notFound(`No ${LABEL[kind]} with appid ${appid} is configured here.`);
      }
      return account;
    }
    const env = kind === 'official_account' ? this.envOfficialAccount : this.envMiniProgram;
    if (isDefined(env)) {
      return env;
    }
    const candidates = [...this.api.values()].filter((account) => account.kind === kind);
    if (candidates.length > 1) {
      throw AppException.badRequest(`appid is required: this service has ${candidates.length} ${LABEL[kind]}s.`);
    }
    // None at all: the empty env account, so that what is missing is named as the variable to set.
    return candidates[0] ?? env;
  }

  private async load(): Promise<void> {
    const rows = await this.repository.list();
    const next = new Map<string, Account>();
    for (const row of rows) {
      try {
        next.set(row.appid, this.open(row));
      } catch (error) {
        this.logger.error(`Account ${row.appid} does not open with DATA_ENCRYPTION_KEY; skipped: ${String(error)}`);
      }
    }
    this.api = next;
  }

  private open(row: StoredAccount): Account {
    const common = {
      appid: row.appid,
      name: row.name,
      source: 'api' as const,
      secret: this.sealer.open(row.secretSealed),
      createdAt: new Date(row.createdAt),
      updatedAt: new Date(row.updatedAt),
    };
    if (row.kind === 'mini_program') {
      return { ...common, kind: 'mini_program' };
    }
    const aesKeys: string[] = [];
    if (row.aesKeySealed) {
      aesKeys.push(this.sealer.open(row.aesKeySealed));
    }
    if (row.previousAesKeySealed && row.previousAesKeyUntil && new Date(row.previousAesKeyUntil) > new Date()) {
      aesKeys.push(this.sealer.open(row.previousAesKeySealed));
    }
    return {
      ...common,
      kind: 'official_account',
      token: row.tokenSealed ? this.sealer.open(row.tokenSealed) : undefined,
      aesKeys,
      welcomeText: row.welcomeText ?? DEFAULT_WELCOME_TEXT,
      domainVerify: row.domainVerify ?? undefined,
      forwardUrl: row.forwardUrl ?? undefined,
    };
  }
}

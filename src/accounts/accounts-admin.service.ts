import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Account } from 'src/accounts/account';
import { AccountRegistry } from 'src/accounts/account.registry';
import { AccountColumns, AccountRepository, StoredAccount } from 'src/accounts/account.repository';
import {
  AccountViewDto,
  CreateAccountDto,
  OFFICIAL_ACCOUNT_FIELDS,
  UpdateAccountDto,
} from 'src/accounts/dto/account.dto';
import { AppException } from 'src/common/errors/app-exception';
import { SecretSealer } from 'src/common/sealing/secret-sealer';
import type { Configuration } from 'src/config/configuration';

/** How long an EncodingAESKey replaced through the API still opens messages (WeChat may retry with it). */
const PREVIOUS_AES_KEY_MS = 24 * 60 * 60 * 1000;

/** The admin API's writes to `wechat_accounts`, with the contract's 400/404/409 answers. */
@Injectable()
export class AccountsAdminService {
  private readonly publicBaseUrl: string;
  private readonly forwardSecretSet: boolean;

  constructor(
    private readonly registry: AccountRegistry,
    private readonly repository: AccountRepository,
    private readonly sealer: SecretSealer,
    config: ConfigService<Configuration, true>,
  ) {
    this.publicBaseUrl = config.get('app', { infer: true }).publicBaseUrl;
    this.forwardSecretSet = Boolean(config.get('messaging', { infer: true }).forwardSecret);
  }

  list(): AccountViewDto[] {
    return this.registry.list().map((account) => this.view(account));
  }

  get(appid: string): AccountViewDto {
    return this.view(this.existing(appid));
  }

  async create(dto: CreateAccountDto): Promise<AccountViewDto> {
    if (dto.kind === 'mini_program') {
      this.refuseOfficialAccountFields(dto);
    }
    this.refuseUnsignedForwarding(dto);
    if (this.registry.find(dto.appid)) {
      throw this.conflict(dto.appid);
    }
    const stored = await this.repository.insert(dto.appid, dto.kind, {
      name: dto.name ?? null,
      secretSealed: this.sealer.seal(dto.secret),
      tokenSealed: dto.token === undefined ? null : this.sealer.seal(dto.token),
      aesKeySealed: dto.aesKey === undefined ? null : this.sealer.seal(dto.aesKey),
      previousAesKeySealed: null,
      previousAesKeyUntil: null,
      welcomeText: dto.welcomeText ?? null,
      domainVerify: dto.domainVerify ?? null,
      forwardUrl: dto.forwardUrl ?? null,
    });
    if (!stored) {
      throw this.conflict(dto.appid);
    }
    return this.afterWrite(stored);
  }

  async update(appid: string, dto: UpdateAccountDto): Promise<AccountViewDto> {
    const account = this.apiAccount(appid);
    if (account.kind === 'mini_program') {
      this.refuseOfficialAccountFields(dto);
    }
    this.refuseUnsignedForwarding(dto);
    const changes: Partial<AccountColumns> = {
      name: dto.name,
      secretSealed: dto.secret === undefined ? undefined : this.sealer.seal(dto.secret),
      tokenSealed: dto.token === undefined ? undefined : this.sealer.seal(dto.token),
      welcomeText: dto.welcomeText,
      domainVerify: dto.domainVerify,
      forwardUrl: dto.forwardUrl,
    };
    const current = account.kind === 'official_account' ? account.aesKeys[0] : undefined;
    if (dto.aesKey !== undefined && dto.aesKey !== current) {
      changes.aesKeySealed = dto.aesKey === null ? null : this.sealer.seal(dto.aesKey);
      // The key it replaces still opens what WeChat sealed before the console was saved, and its retries.
      changes.previousAesKeySealed = current ? this.sealer.seal(current) : null;
      changes.previousAesKeyUntil = current ? new Date(Date.now() + PREVIOUS_AES_KEY_MS) : null;
    }
    const stored = await this.repository.update(appid, changes);
    if (!stored) {
      throw this.notFound(appid);
    }
    return this.afterWrite(stored);
  }

  async remove(appid: string): Promise<void> {
    this.apiAccount(appid);
    if (!(await this.repository.delete(appid))) {
      throw this.notFound(appid);
    }
    await this.registry.reload();
  }

  /** This instance reads the accounts again at once; the others do when the notification reaches them. */
  private async afterWrite(stored: StoredAccount): Promise<AccountViewDto> {
    await this.registry.reload();
    return this.view(this.existing(stored.appid));
  }

  private existing(appid: string): Account {
    const account = this.registry.find(appid);
    if (!account) {
      throw this.notFound(appid);
    }
    return account;
  }

  private apiAccount(appid: string): Account {
    const account = this.existing(appid);
    if (account.source === 'env') {
      throw new AppException(
        409,
        'managed_by_env',
        `Account ${appid} is defined by environment variables: change or remove it there and restart.`,
      );
    }
    return account;
  }

  private refuseOfficialAccountFields(dto: CreateAccountDto | UpdateAccountDto): void {
    const given = OFFICIAL_ACCOUNT_FIELDS.find((field) => dto[field] !== undefined && dto[field] !== null);
    if (given) {
      throw AppException.badRequest(`${given} is only for official accounts`);
    }
  }

  /** Forwards are always signed: a forwardUrl waits for FORWARD_SECRET (which the backend checks them with). */
  private refuseUnsignedForwarding(dto: CreateAccountDto | UpdateAccountDto): void {
    if (dto.forwardUrl && !this.forwardSecretSet) {
      throw AppException.badRequest('forwardUrl needs FORWARD_SECRET set on the service: forwards are always signed.');
    }
  }

  private conflict(appid: string): AppException {
    return new AppException(409, 'conflict', `An account with appid ${appid} already exists.`);
  }

  private notFound(appid: string): AppException {
    return AppException.notFound(`No account with appid ${appid} is configured here.`);
  }

  private view(account: Account): AccountViewDto {
    const official = account.kind === 'official_account';
    return {
      appid: account.appid ?? null,
      kind: account.kind,
      name: account.name,
      source: account.source,
      encrypted: official && account.aesKeys.length > 0,
      forwardUrl: (official && account.forwardUrl) || null,
      ...(official && {
        webhookUrl: `${this.publicBaseUrl}/wechat/webhook${account.appid ? `/${account.appid}` : ''}`,
      }),
      createdAt: account.createdAt?.toISOString() ?? null,
      updatedAt: account.updatedAt?.toISOString() ?? null,
    };
  }
}

import { AppException } from 'src/common/errors/app-exception';

export const ACCOUNT_KINDS = ['official_account', 'mini_program'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

/** Where an account is defined: the `WECHAT_OA_*` / `WECHAT_MP_*` variables, or the admin API (PostgreSQL). */
export type AccountSource = 'env' | 'api';

interface AccountBase {
  /** Undefined only for an env account whose AppID variable is unset (e.g. a plaintext-only webhook). */
  appid?: string;
  name: string | null;
  source: AccountSource;
  secret?: string;
  createdAt: Date | null;
  updatedAt: Date | null;
}

export interface OfficialAccount extends AccountBase {
  kind: 'official_account';
  token?: string;
  /** The EncodingAESKey first, then earlier keys still accepted for decryption. Empty: plaintext mode only. */
  aesKeys: string[];
  welcomeText: string;
  domainVerify?: string;
  forwardUrl?: string;
}

export interface MiniProgram extends AccountBase {
  kind: 'mini_program';
}

export type Account = OfficialAccount | MiniProgram;

/** The fields a feature may need of an account; `require` names what is missing the way its source is set. */
export type RequiredField = 'appid' | 'secret' | 'token' | 'aesKey';

const ENV_VARIABLES: Record<AccountKind, Record<RequiredField, string>> = {
  official_account: {
    appid: 'WECHAT_OA_APPID',
    secret: 'WECHAT_OA_SECRET',
    token: 'WECHAT_OA_TOKEN',
    aesKey: 'WECHAT_OA_AES_KEY',
  },
  mini_program: { appid: 'WECHAT_MP_APPID', secret: 'WECHAT_MP_SECRET', token: '', aesKey: '' },
};

function valueOf(account: Account, field: RequiredField): string | undefined {
  switch (field) {
    case 'appid':
      return account.appid;
    case 'secret':
      return account.secret;
    case 'token':
      return account.kind === 'official_account' ? account.token : undefined;
    case 'aesKey':
      return account.kind === 'official_account' ? account.aesKeys[0] : undefined;
  }
}

/**
 * The fields `fields` of `account`, or the 503 `not_configured` naming what to set: the variable for an env account
 * (as before accounts were data), the admin API field for an API account.
 */
export function requireFields<F extends RequiredField>(account: Account, ...fields: F[]): Record<F, string> {
  const missing = fields.filter((field) => !valueOf(account, field));
  if (missing.length > 0) {
    if (account.source === 'env') {
      throw AppException.notConfigured(...missing.map((field) => ENV_VARIABLES[account.kind][field]));
    }
    throw new AppException(
      503,
      'not_configured',
      `Account ${account.appid} has no ${missing.join(' and ')}: set it with PATCH /admin/accounts/${account.appid}.`,
    );
  }
  return Object.fromEntries(fields.map((field) => [field, valueOf(account, field)])) as Record<F, string>;
}

import type { MiniProgram, OfficialAccount } from 'src/accounts/account';

/** An official account as the registry hands it out, for unit specs; env-defined unless `overrides` say otherwise. */
export function officialAccount(overrides: Partial<OfficialAccount> = {}): OfficialAccount {
  return {
    kind: 'official_account',
    source: 'env',
    appid: 'wxspec0000000001',
    name: null,
    secret: 'spec-secret',
    token: 'specToken1',
    aesKeys: [],
    welcomeText: '感谢关注！',
    createdAt: null,
    updatedAt: null,
    ...overrides,
  };
}

export function miniProgram(overrides: Partial<MiniProgram> = {}): MiniProgram {
  return {
    kind: 'mini_program',
    source: 'env',
    appid: 'wxspec0000000002',
    name: null,
    secret: 'spec-secret',
    createdAt: null,
    updatedAt: null,
    ...overrides,
  };
}

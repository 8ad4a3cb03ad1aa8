/** WeChat `errcode`s this service reacts to (from WeChat's global return-code table). */
export enum WeChatErrcode {
  SystemBusy = -1,
  Ok = 0,
  InvalidCredential = 40001,
  InvalidGrantType = 40002,
  InvalidOpenid = 40003,
  InvalidAppid = 40013,
  InvalidAccessToken = 40014,
  InvalidCode = 40029,
  InvalidRefreshToken = 40030,
  InvalidIp = 40164,
  InvalidAppSecret = 40125,
  CodeUsed = 40163,
  RiskyUser = 40226,
  AccessTokenExpired = 42001,
  RefreshTokenExpired = 42002,
  OauthCodeExpired = 42003,
  ApiQuotaExceeded = 45009,
  ApiFrequencyLimit = 45011,
  ApiUnauthorized = 48001,
  UserUnauthorized = 50001,
}

/** Codes meaning "this access_token is no longer good": drop it (if still current) and retry once. */
export const STALE_TOKEN_ERRCODES: ReadonlySet<number> = new Set([
  WeChatErrcode.InvalidCredential,
  WeChatErrcode.InvalidAccessToken,
  WeChatErrcode.AccessTokenExpired,
]);

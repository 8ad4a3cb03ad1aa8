/**
 * The rules an account's fields follow, the same for the `WECHAT_OA_*` / `WECHAT_MP_*` variables and for the admin
 * API (`/admin/accounts`): one pattern and one message each.
 */
export const ACCOUNT_RULES = {
  appid: { pattern: /^wx[0-9a-zA-Z]{6,32}$/, message: 'must be an AppID such as wx1234567890abcdef' },
  token: { pattern: /^[A-Za-z0-9]{3,32}$/, message: 'must be 3-32 letters or digits (the Token of 服务器配置)' },
  aesKey: { pattern: /^[A-Za-z0-9]{43}$/, message: 'must be the 43-character EncodingAESKey' },
  domainVerify: {
    pattern: /^[A-Za-z0-9]{1,64}$/,
    message: 'must be the letters and digits of the MP_verify_<content>.txt file',
  },
  forwardUrl: {
    pattern: /^https?:\/\/[^\s/?#]+(:\d+)?(\/[^\s#]*)?$/,
    message: 'must be an http(s):// URL without a #fragment',
  },
} as const;

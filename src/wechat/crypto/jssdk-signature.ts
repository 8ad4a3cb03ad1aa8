import { createHash } from 'node:crypto';

export interface JsSdkSignatureInput {
  jsapiTicket: string;
  nonceStr: string;
  /** Seconds since the epoch, as sent in `wx.config`. */
  timestamp: string | number;
  /** The page URL, query exactly as the page has it (see `pageUrlToSign`); a `#fragment` is never signed. */
  url: string;
}

/**
 * The `wx.config` signature (JS-SDK 附录1-JS-SDK使用权限签名算法): sha1 of
 * `jsapi_ticket=…&noncestr=…&timestamp=…&url=…` — the keys in ASCII order, the values raw (no URL escaping).
 * https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html
 */
export function jssdkSignature({ jsapiTicket, nonceStr, timestamp, url }: JsSdkSignatureInput): string {
  // WeChat signs the page URL up to its first `#`; dropping it here too keeps a caller's slip from a silent mismatch.
  const page = url.split('#', 1)[0];
  const plain = `jsapi_ticket=${jsapiTicket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${page}`;
  return createHash('sha1').update(plain, 'utf8').digest('hex');
}

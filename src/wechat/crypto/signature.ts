import { createHash } from 'node:crypto';
import { safeEqual } from 'src/common/safe-equal';
import { jssdkSignature as signJsSdk } from 'src/wechat/crypto/jssdk-signature';

/** WeChat's signature: sha1 of the parts sorted as strings and concatenated (webhook `signature`, `msg_signature`). */
export function wechatSignature(parts: readonly string[]): string {
  return createHash('sha1')
    .update([...parts].sort().join(''), 'utf8')
    .digest('hex');
}

/** Constant-time check of a WeChat signature; a missing or non-string signature never matches. */
export function verifySignature(token: string, parts: readonly string[], signature: unknown): boolean {
  if (typeof signature !== 'string' || signature.length === 0) {
    return false;
  }
  return safeEqual(wechatSignature([token, ...parts]), signature.toLowerCase());
}

/**
 * The JS-SDK `wx.config` signature with WeChat's field names; kept for its callers, the algorithm lives in
 * `jssdk-signature.ts` (which also drops the `#` fragment).
 */
export function jssdkSignature(fields: {
  jsapi_ticket: string;
  noncestr: string;
  timestamp: string;
  url: string;
}): string {
  return signJsSdk({
    jsapiTicket: fields.jsapi_ticket,
    nonceStr: fields.noncestr,
    timestamp: fields.timestamp,
    url: fields.url,
  });
}

import { OfficialAccount, requireFields } from 'src/accounts/account';
import { AppException } from 'src/common/errors/app-exception';
import { verifySignature } from 'src/wechat/crypto/signature';
import { extractEncrypt } from 'src/wechat/xml/xml.codec';

const one = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * The check before anything else looks at a webhook request, GET included (WeChat's echostr check too): the plain
 * `signature` over (the account's Token, timestamp, nonce), and for a POST in encrypted mode the `msg_signature` over the `Encrypt`
 * element as well. Compared in constant time; a mismatch throws the 401 and nothing further happens.
 *
 * Returns the `Encrypt` element that `msg_signature` covered (a POST in encrypted mode), undefined otherwise: it is
 * what gets decrypted, so the body is searched for it once.
 */
export function checkWebhookSignature(
  account: OfficialAccount,
  method: 'GET' | 'POST',
  query: Record<string, unknown>,
  body?: string,
): string | undefined {
  const token = account.token ?? requireFields(account, 'token').token;
  const timestamp = one(query.timestamp) ?? '';
  const nonce = one(query.nonce) ?? '';
  const encrypted = method === 'POST' && one(query.encrypt_type) === 'aes';
  const signature = one(query.signature);
  // In encrypted mode msg_signature is what counts; WeChat sends `signature` too, and when present it must hold.
  const plainOk = signature === undefined && encrypted ? true : verifySignature(token, [timestamp, nonce], signature);
  let encrypt: string | undefined;
  let messageOk = true;
  if (plainOk && encrypted) {
    encrypt = body === undefined ? undefined : extractEncrypt(body);
    messageOk = encrypt !== undefined && verifySignature(token, [timestamp, nonce, encrypt], one(query.msg_signature));
  }
  if (!plainOk || !messageOk) {
    throw new AppException(401, 'invalid_signature', 'The WeChat signature does not match: check the Token.');
  }
  return encrypt;
}

import { createHash } from 'node:crypto';
import { checkWebhookSignature } from 'src/webhook/webhook-signature';
import { officialAccount } from 'test/support/accounts';

const TOKEN = 'testtoken123';
const ACCOUNT = officialAccount({ token: TOKEN });
const sign = (...parts: string[]): string =>
  createHash('sha1')
    .update([TOKEN, ...parts].sort().join(''))
    .digest('hex');

describe('checkWebhookSignature', () => {
  const timestamp = '1700000000';
  const nonce = '42';
  const plain = { timestamp, nonce, signature: sign(timestamp, nonce) };
  const envelope = '<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[c2VjcmV0]]></Encrypt></xml>';
  const safe = { ...plain, encrypt_type: 'aes', msg_signature: sign(timestamp, nonce, 'c2VjcmV0') };

  it('should pass a signed plain request, GET or POST, and find no Encrypt to hand on', () => {
    expect(checkWebhookSignature(ACCOUNT, 'GET', { ...plain, echostr: 'e' })).toBeUndefined();
    expect(checkWebhookSignature(ACCOUNT, 'POST', plain, '<xml/>')).toBeUndefined();
  });

  it('should hand on the Encrypt element that msg_signature covered, in encrypted mode', () => {
    expect(checkWebhookSignature(ACCOUNT, 'POST', safe, envelope)).toBe('c2VjcmV0');
    const { signature: _signature, ...withoutPlain } = safe;
    expect(checkWebhookSignature(ACCOUNT, 'POST', withoutPlain, envelope)).toBe('c2VjcmV0');
  });

  it('should refuse with 401 a wrong signature, a wrong msg_signature or an encrypted request without Encrypt', () => {
    const refusals = [
      () => checkWebhookSignature(ACCOUNT, 'GET', { ...plain, signature: sign('other', nonce) }),
      () =>
        checkWebhookSignature(ACCOUNT, 'POST', { ...safe, msg_signature: sign(timestamp, nonce, 'other') }, envelope),
      () => checkWebhookSignature(ACCOUNT, 'POST', safe, '<xml/>'),
      () => checkWebhookSignature(ACCOUNT, 'POST', safe),
    ];
    for (const refusal of refusals) {
      expect(refusal).toThrow(expect.objectContaining({ status: 401, code: 'invalid_signature' }));
    }
  });

  it('should check only the plain signature on GET, whatever encrypt_type says', () => {
    expect(checkWebhookSignature(ACCOUNT, 'GET', { ...plain, encrypt_type: 'aes' })).toBeUndefined();
  });

  it('should answer not_configured naming what to set when the account has no Token', () => {
    expect(() => checkWebhookSignature(officialAccount({ token: undefined }), 'GET', plain)).toThrow(
      expect.objectContaining({
        status: 503,
        code: 'not_configured',
        message: expect.stringContaining('WECHAT_OA_TOKEN'),
      }),
    );
    const api = officialAccount({ source: 'api', appid: 'wxapi00000000001', token: undefined });
    expect(() => checkWebhookSignature(api, 'GET', plain)).toThrow(
      expect.objectContaining({
        status: 503,
        message: expect.stringContaining('PATCH /admin/accounts/wxapi00000000001'),
      }),
    );
  });

  it("should refuse a request signed with another account's Token", () => {
    expect(() => checkWebhookSignature(officialAccount({ token: 'otherToken9' }), 'GET', plain)).toThrow(
      expect.objectContaining({ status: 401, code: 'invalid_signature' }),
    );
  });
});

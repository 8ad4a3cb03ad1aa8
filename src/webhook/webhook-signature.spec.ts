import { createHash } from 'node:crypto';
import { checkWebhookSignature } from 'src/webhook/webhook-signature';

const TOKEN = 'testtoken123';
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
    expect(checkWebhookSignature(TOKEN, 'GET', { ...plain, echostr: 'e' })).toBeUndefined();
    expect(checkWebhookSignature(TOKEN, 'POST', plain, '<xml/>')).toBeUndefined();
  });

  it('should hand on the Encrypt element that msg_signature covered, in encrypted mode', () => {
    expect(checkWebhookSignature(TOKEN, 'POST', safe, envelope)).toBe('c2VjcmV0');
    const { signature: _signature, ...withoutPlain } = safe;
    expect(checkWebhookSignature(TOKEN, 'POST', withoutPlain, envelope)).toBe('c2VjcmV0');
  });

  it('should refuse with 401 a wrong signature, a wrong msg_signature or an encrypted request without Encrypt', () => {
    const refusals = [
      () => checkWebhookSignature(TOKEN, 'GET', { ...plain, signature: sign('other', nonce) }),
      () => checkWebhookSignature(TOKEN, 'POST', { ...safe, msg_signature: sign(timestamp, nonce, 'other') }, envelope),
      () => checkWebhookSignature(TOKEN, 'POST', safe, '<xml/>'),
      () => checkWebhookSignature(TOKEN, 'POST', safe),
    ];
    for (const refusal of refusals) {
      expect(refusal).toThrow(expect.objectContaining({ status: 401, code: 'invalid_signature' }));
    }
  });

  it('should check only the plain signature on GET, whatever encrypt_type says', () => {
    expect(checkWebhookSignature(TOKEN, 'GET', { ...plain, encrypt_type: 'aes' })).toBeUndefined();
  });

  it('should answer not_configured when the Token is unset', () => {
    expect(() => checkWebhookSignature(undefined, 'GET', plain)).toThrow(
      expect.objectContaining({ status: 503, code: 'not_configured' }),
    );
  });
});

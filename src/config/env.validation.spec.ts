import { buildConfiguration } from 'src/config/configuration';
import { validate } from 'src/config/env.validation';

describe(validate.name, () => {
  it('should accept an empty environment and apply the contract defaults', () => {
    const sut = buildConfiguration(validate({}));
    expect(sut.app).toMatchObject({ port: 3000, publicBaseUrl: 'http://localhost:3000', sessionTtlSeconds: 2592000 });
    expect(sut.database).toEqual({ url: undefined, pgliteDir: './.data/pglite' });
    expect(sut.wechat).toMatchObject({
      apiBase: 'https://api.weixin.qq.com',
      openBase: 'https://open.weixin.qq.com',
      oa: { welcomeText: '感谢关注！' },
    });
    expect(sut.app.usingDevelopmentKey).toBe(true);
  });

  it('should treat empty strings as unset', () => {
    expect(() => validate({ PORT: '', WECHAT_OA_APPID: '' })).not.toThrow();
  });

  it('should decode a base64 or hex DATA_ENCRYPTION_KEY to 32 bytes', () => {
    const base64 = Buffer.alloc(32, 1).toString('base64');
    const hex = Buffer.alloc(32, 2).toString('hex');
    expect(buildConfiguration(validate({ DATA_ENCRYPTION_KEY: base64 })).app.dataEncryptionKey).toEqual(
      Buffer.alloc(32, 1),
    );
    expect(buildConfiguration(validate({ DATA_ENCRYPTION_KEY: hex })).app.dataEncryptionKey).toEqual(
      Buffer.alloc(32, 2),
    );
  });

  it.each([
    ['PORT', { PORT: '70000' }],
    ['DATABASE_URL', { DATABASE_URL: 'http://db' }],
    ['PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'wx.example.com' }],
    ['WECHAT_OA_AES_KEY', { WECHAT_OA_AES_KEY: 'abc' }],
    ['WECHAT_OA_APPID', { WECHAT_OA_APPID: 'not-an-appid' }],
    ['DATA_ENCRYPTION_KEY', { DATA_ENCRYPTION_KEY: 'short' }],
    ['DATA_ENCRYPTION_KEY', { NODE_ENV: 'production' }],
    ['SESSION_TTL_SECONDS', { SESSION_TTL_SECONDS: 'forever' }],
    ['ADMIN_API_KEY', { ADMIN_API_KEY: 'short' }],
  ])('should refuse a bad %s with one line naming it', (variable, env) => {
    expect(() => validate(env)).toThrow(new RegExp(`^Invalid environment variable ${variable}\\b[^\\n]*$`));
  });

  it('should never print the value of a secret variable', () => {
    expect(() => validate({ DATA_ENCRYPTION_KEY: 'my-secret-value' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('my-secret-value') }),
    );
  });
});

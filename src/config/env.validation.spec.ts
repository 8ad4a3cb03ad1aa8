import { getMetadataStorage } from 'class-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfiguration } from 'src/config/configuration';
import { EnvironmentVariables, validate } from 'src/config/env.validation';

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
    expect(sut.messaging).toMatchObject({ retentionDays: 30, activityRetentionDays: 7 });
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
    ['JSSDK_ALLOWED_HOSTS', { JSSDK_ALLOWED_HOSTS: 'https://h5.example.com' }],
    ['JSSDK_ALLOWED_HOSTS', { JSSDK_ALLOWED_HOSTS: 'h5.example.com,*.example.com' }],
    ['JSSDK_ALLOWED_HOSTS', { JSSDK_ALLOWED_HOSTS: 'h5.example.com:99999' }],
    ['JSSDK_ALLOWED_HOSTS', { JSSDK_ALLOWED_HOSTS: ' , ' }],
    ['FOLLOWER_ACTIVITY_RETENTION_DAYS', { FOLLOWER_ACTIVITY_RETENTION_DAYS: '2' }],
    ['FOLLOWER_ACTIVITY_RETENTION_DAYS', { FOLLOWER_ACTIVITY_RETENTION_DAYS: 'a week' }],
  ])('should refuse a bad %s with one line naming it', (variable, env) => {
    expect(() => validate(env)).toThrow(new RegExp(`^Invalid environment variable ${variable}\\b[^\\n]*$`));
  });

  it('should name the bad JSSDK_ALLOWED_HOSTS entry', () => {
    expect(() => validate({ JSSDK_ALLOWED_HOSTS: 'h5.example.com, h5.example.com/shop' })).toThrow(
      /JSSDK_ALLOWED_HOSTS .*"h5\.example\.com\/shop" is not a host or host:port/,
    );
  });

  it.each([
    [{}, ['localhost:3000']],
    [{ PORT: '8080' }, ['localhost:8080']],
    [{ PUBLIC_BASE_URL: 'https://WX.Example.com' }, ['wx.example.com']],
    [{ PUBLIC_BASE_URL: 'https://wx.example.com:443/' }, ['wx.example.com']],
    [{ PUBLIC_BASE_URL: 'http://wx.example.com:8443' }, ['wx.example.com:8443']],
  ])('should default JSSDK_ALLOWED_HOSTS to the host and port of PUBLIC_BASE_URL (%j)', (env, hosts) => {
    expect(buildConfiguration(validate(env)).app.jssdkAllowedHosts).toEqual(hosts);
  });

  it('should expose JSSDK_ALLOWED_HOSTS normalised, without blanks or repeats', () => {
    const sut = buildConfiguration(
      validate({
        PUBLIC_BASE_URL: 'https://wx.example.com',
        JSSDK_ALLOWED_HOSTS: 'H5.Example.com, h5.example.com,localhost:03000,',
      }),
    );
    expect(sut.app.jssdkAllowedHosts).toEqual(['h5.example.com', 'localhost:3000']);
  });

  it('should never print the value of a secret variable', () => {
    expect(() => validate({ DATA_ENCRYPTION_KEY: 'my-secret-value' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('my-secret-value') }),
    );
  });
});

describe('the documented variables', () => {
  /** Every variable EnvironmentVariables validates, but the test hooks (read only with NODE_ENV=test). */
  const variables = [
    ...new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
        .map((metadata) => metadata.propertyName),
    ),
  ].filter((name) => !name.includes('_TEST_'));
  const root = join(__dirname, '..', '..');

  it('should read at least the contract’s core variables', () => {
    expect(variables).toEqual(expect.arrayContaining(['PORT', 'DATABASE_URL', 'WECHAT_OA_TOKEN', 'FORWARD_SECRET']));
  });

  it('should list every variable in .env.example', () => {
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    const listed = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]));
    expect(variables.filter((name) => !listed.has(name))).toEqual([]);
  });

  it('should document every variable in the README', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(variables.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});

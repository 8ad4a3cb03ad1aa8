import request from 'supertest';
import { ChangeFeed } from 'src/database/change-feed';
import { Sql } from 'src/database/sql';
import { ADMIN_KEY, Harness, OA_APP, startHarness } from 'test/support/create-test-app';

describe('Token store on embedded PGlite (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ DATABASE_URL: undefined, PGLITE_DIR: 'memory://' });
  });

  afterAll(async () => {
    await h.close();
  });

  const tokenOf = async (): Promise<string> =>
    (
      await request(h.app.getHttpServer())
        .get('/admin/token')
        .query({ appid: OA_APP.appid })
        .set('X-Admin-Key', ADMIN_KEY)
        .expect(200)
    ).body.accessToken as string;

  it('should listen in-process and serve the forced token on the next read', async () => {
    expect(h.app.get(ChangeFeed).connected).toBe(true);
    const before = await tokenOf();
    const res = await request(h.app.getHttpServer())
      .post('/admin/token/refresh')
      .query({ appid: OA_APP.appid })
      .set('X-Admin-Key', ADMIN_KEY)
      .expect(200);
    expect(res.body.accessToken).not.toBe(before);
    expect(await tokenOf()).toBe(res.body.accessToken);
  });

  it('should drop its memory copy when the embedded database announces an expiry', async () => {
    const before = await tokenOf();
    h.fake.resetCalls();
    // As another writer would: compare-and-expire with its notification, in one statement on the app's database.
    await h.app.get(Sql).rows(
      `WITH expired AS (UPDATE access_tokens SET refresh_at = now() - interval '1 second'
         WHERE appid = $1 AND kind = 'access_token' RETURNING appid)
       SELECT pg_notify('wechat_changes', json_build_object('topic', 'token', 'key', 'access_token:' || appid,
         'detail', 'dropped')::text) FROM expired`,
      [OA_APP.appid],
    );
    // Without the notification the memory copy would be trusted until its refresh time: no fetch at all.
    const started = Date.now();
    while (h.fake.callCount('/cgi-bin/stable_token') === 0 && Date.now() - started < 1000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await tokenOf();
    }
    // WeChat's normal mode hands the same token back while it has more than five minutes left.
    expect(await tokenOf()).toBe(before);
    expect(h.fake.callCount('/cgi-bin/stable_token')).toBe(1);
  });

  it('should sign a wx.config on a cold cache, fetching the ticket and the access token it needs once', async () => {
    // The ticket fetch needs the access token; on the single-session embedded database a fetch lock held as a
    // transaction would wait for itself (the access-token read) and hang every later query.
    await h.app.get(Sql).rows(`DELETE FROM access_tokens`);
    // An account change drops this instance's memory copies of the account's token and ticket: a cold cache.
    await h.app.get(Sql).rows(...ChangeFeed.notifySql({ topic: 'account', key: OA_APP.appid }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    h.fake.resetCalls();
    const url = 'http://localhost:3000/page?x=1';
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => request(h.app.getHttpServer()).get('/jssdk/config').query({ url }).timeout(5000)),
    );
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);
    expect(h.fake.callCount('/cgi-bin/ticket/getticket')).toBe(1);
    expect(h.fake.callCount('/cgi-bin/stable_token')).toBe(1);
    await tokenOf();
  });
});

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { ChangeFeed, LISTENER_APPLICATION_NAME } from 'src/database/change-feed';
import { invalidateTokens, tokenState } from 'test/fake-wechat/routes/token.routes';
import { ADMIN_KEY, Harness, OA_APP, startHarness } from 'test/support/create-test-app';

const STABLE_TOKEN = '/cgi-bin/stable_token';

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return { value, ms: Date.now() - started };
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`not within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Token store across instances (e2e)', () => {
  let h: Harness;
  let instances: NestFastifyApplication[];

  beforeAll(async () => {
    h = await startHarness();
    instances = [h.app, await h.startInstance(), await h.startInstance()];
    await request(h.app.getHttpServer())
      .put('/admin/menu')
      .set('X-Admin-Key', ADMIN_KEY)
      .send({ button: [{ type: 'click', name: '今日', key: 'today' }] })
      .expect(200);
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(() => {
    h.fake.clearFaults();
    h.fake.resetCalls();
  });

  const getToken = (app: NestFastifyApplication) =>
    request(app.getHttpServer()).get('/admin/token').query({ appid: OA_APP.appid }).set('X-Admin-Key', ADMIN_KEY);
  /** A token-bearing admin route: GET /cgi-bin/menu/get with the account's access token. */
  const getMenu = (app: NestFastifyApplication) =>
    request(app.getHttpServer()).get('/admin/menu').set('X-Admin-Key', ADMIN_KEY);
  const tokenOf = async (app: NestFastifyApplication): Promise<string> =>
    (await getToken(app).expect(200)).body.accessToken as string;
  const forceRefresh = async (app: NestFastifyApplication): Promise<string> => {
    // The service and WeChat keep 30 s between forced refreshes; the tests need not wait them out.
    await h.query('UPDATE access_tokens SET last_force_refresh_at = NULL, force_refresh_count = 0');
    tokenState(h.fake).forced.clear();
    const res = await request(app.getHttpServer())
      .post('/admin/token/refresh')
      .query({ appid: OA_APP.appid })
      .set('X-Admin-Key', ADMIN_KEY)
      .expect(200);
    return res.body.accessToken as string;
  };
  /** Polls every instance in `apps` until each serves `token`; the slowest one's delay. */
  const seenBy = async (apps: NestFastifyApplication[], token: string) => {
    const delays = await Promise.all(
      apps.map(
        async (app) => (await waitFor(async () => ((await tokenOf(app)) === token ? true : undefined), 3000)).ms,
      ),
    );
    return Math.max(...delays);
  };
  const listenersUp = () => instances.every((app) => app.get(ChangeFeed).connected);

  it('should serve a token forced on instance 2 from instances 1 and 3 within a second, with no extra fetch', async () => {
    const before = await tokenOf(instances[1]);
    // Both others now hold it in memory, trusted until its refresh time.
    expect(await tokenOf(instances[0])).toBe(before);
    expect(await tokenOf(instances[2])).toBe(before);
    h.fake.resetCalls();
    const fresh = await forceRefresh(instances[1]);
    expect(fresh).not.toBe(before);
    expect(await seenBy([instances[0], instances[2]], fresh)).toBeLessThan(1000);
    expect(h.fake.callCount(STABLE_TOKEN)).toBe(1);
  });

  it('should never hand out a token dropped by compare-and-expire on another instance', async () => {
    const old = await tokenOf(instances[0]);
    await tokenOf(instances[2]);
    invalidateTokens(h.fake, OA_APP.appid);
    h.fake.resetCalls();
    // A token-bearing call on instance 1 meets the rejection and replaces the token once.
    await getMenu(instances[0]).expect(200);
    const fresh = await tokenOf(instances[0]);
    expect(fresh).not.toBe(old);
    expect(await seenBy([instances[1], instances[2]], fresh)).toBeLessThan(1000);
    expect(h.fake.callCount(STABLE_TOKEN)).toBe(1);
  });

  it('should answer 30 concurrent token-bearing calls after an upstream invalidation with one fetch a round, 20 rounds', async () => {
    for (const app of instances) {
      await getMenu(app).expect(200);
    }
    for (let round = 0; round < 20; round += 1) {
      invalidateTokens(h.fake, OA_APP.appid);
      h.fake.resetCalls();
      // Spread over a few milliseconds, as real traffic is: some calls arrive while others already retry.
      const results = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          await new Promise((resolve) => setTimeout(resolve, i % 10));
          return getMenu(instances[i % 3]);
        }),
      );
      expect({ round, statuses: results.map((res) => res.status) }).toEqual({ round, statuses: Array(30).fill(200) });
      expect({ round, fetches: h.fake.callCount(STABLE_TOKEN) }).toEqual({ round, fetches: 1 });
    }
  });

  it('should reconnect its listener after pg_terminate_backend and keep every instance on the stored token', async () => {
    const before = await tokenOf(instances[0]);
    await Promise.all(instances.map((app) => tokenOf(app)));
    const killed = await h.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()
         AND application_name = $1`,
      [LISTENER_APPLICATION_NAME],
    );
    expect(killed).toHaveLength(3);
    // Replaced while the listeners may be down: the notification can be lost, the memory copies must not be trusted.
    const fresh = await forceRefresh(instances[1]);
    expect(fresh).not.toBe(before);
    expect(await seenBy(instances, fresh)).toBeLessThan(1000);
    await waitFor(() => Promise.resolve(listenersUp() ? true : undefined), 5000);
    const again = await forceRefresh(instances[2]);
    expect(await seenBy(instances, again)).toBeLessThan(1000);
    expect(h.fake.callCount(STABLE_TOKEN)).toBe(2);
  });

  it('should forget the tokens and tickets of a deleted account on every instance', async () => {
    const appid = 'wx2f2f2f2f2f2f2f2f';
    h.fake.addApp({ appid, secret: 'second-account-secret', kind: 'official_account' });
    await request(instances[0].getHttpServer())
      .post('/admin/accounts')
      .set('X-Admin-Key', ADMIN_KEY)
      .send({ kind: 'official_account', appid, secret: 'second-account-secret', token: 'secondToken1' })
      .expect(201);
    const ticketOf = (app: NestFastifyApplication) =>
      request(app.getHttpServer()).get('/admin/ticket').query({ appid, type: 'jsapi' }).set('X-Admin-Key', ADMIN_KEY);
    await waitFor(async () => ((await ticketOf(instances[2])).status === 200 ? true : undefined), 3000);
    await ticketOf(instances[1]).expect(200);
    const kinds = await h.query<{ kind: string }>('SELECT kind FROM access_tokens WHERE appid = $1 ORDER BY kind', [
      appid,
    ]);
    expect(kinds.map((row) => row.kind)).toEqual(['access_token', 'jsapi_ticket']);
    await request(instances[0].getHttpServer())
      .delete(`/admin/accounts/${appid}`)
      .set('X-Admin-Key', ADMIN_KEY)
      .expect(204);
    expect(await h.query('SELECT kind FROM access_tokens WHERE appid = $1', [appid])).toEqual([]);
    const { ms } = await waitFor(async () => ((await ticketOf(instances[2])).status === 404 ? true : undefined), 3000);
    expect(ms).toBeLessThan(1000);
  });
});

import { DataSource } from 'typeorm';
import { Sql } from 'src/database/sql';
import { InboundMessageRepository, InboundRecord } from 'src/webhook/inbound-message.repository';
import { connectDataSource, createTestDatabase, TestDatabase } from 'test/support/test-database';

/**
 * The record of inbound messages on PostgreSQL, where a reply is either recorded with its message or settled later
 * into `wechat_inbound_replies`: what a retry, a takeover and a second settle see.
 */
describe('InboundMessageRepository (PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let sut: InboundMessageRepository;
  let n = 0;

  const record = (): InboundRecord => {
    n += 1;
    return {
      toUserName: 'gh_repo',
      dedupeKey: `event:o-repo-${n}:${1764600000 + n}:subscribe`,
      fromUserName: `o-repo-${n}`,
      msgType: 'event',
      event: 'subscribe',
      createTime: 1764600000 + n,
      fields: { Event: 'subscribe' },
      encrypted: false,
    };
  };
  const leaseRunOut = (of: InboundRecord) =>
    dataSource.query(
      `UPDATE wechat_inbound_messages SET lease_until = now() - interval '1 second'
        WHERE to_user_name = $1 AND dedupe_key = $2`,
      [of.toUserName, of.dedupeKey],
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await connectDataSource(db);
    await dataSource.runMigrations({ transaction: 'each' });
    sut = new InboundMessageRepository(new Sql(dataSource));
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) {
      await dataSource.destroy();
    }
    await db?.drop();
  });

  it('should give a retry the reply settled after the claim, and keep the first of two settles', async () => {
    const message = record();
    expect(await sut.claim(message)).toEqual({ claimed: true, reply: null });
    expect(await sut.settleReply(message, '<xml>first</xml>')).toBe('<xml>first</xml>');
    expect(await sut.settleReply(message, '<xml>second</xml>')).toBe('<xml>first</xml>');
    expect(await sut.claim(message)).toEqual({ claimed: false, reply: '<xml>first</xml>' });
    // The message's own row is left as the claim wrote it.
    expect(
      await dataSource.query(`SELECT reply FROM wechat_inbound_messages WHERE dedupe_key = $1`, [message.dedupeKey]),
    ).toEqual([{ reply: null }]);
  });

  it('should settle a batch in which some messages were replied already, each with the reply that stands', async () => {
    const [a, b, c] = [record(), record(), record()];
    await Promise.all([sut.claim(a), sut.claim(b), sut.claim(c)]);
    await sut.settleReply(a, 'success');
    // Settles made at the same moment go in one statement.
    expect(
      await Promise.all([
        sut.settleReply(a, '<xml>late</xml>'),
        sut.settleReply(b, '<xml>b</xml>'),
        sut.settleReply(c, '<xml>c</xml>'),
      ]),
    ).toEqual(['success', '<xml>b</xml>', '<xml>c</xml>']);
  });

  it('should give a retry the reply recorded with the message, as before', async () => {
    const message = record();
    expect(await sut.claim(message, '<xml>at once</xml>')).toEqual({ claimed: true, reply: '<xml>at once</xml>' });
    expect(await sut.claim(message)).toEqual({ claimed: false, reply: '<xml>at once</xml>' });
  });

  it('should take over a claim whose lease ran out only while no reply is settled', async () => {
    const unreplied = record();
    await sut.claim(unreplied);
    expect(await sut.takeOver(unreplied)).toEqual({ taken: false, reply: null });
    await leaseRunOut(unreplied);
    expect(await sut.takeOver(unreplied)).toEqual({ taken: true, reply: null });
    // The taker's fresh lease holds off the next retry.
    expect(await sut.takeOver(unreplied)).toEqual({ taken: false, reply: null });

    const replied = record();
    await sut.claim(replied);
    await sut.settleReply(replied, '<xml>done</xml>');
    await leaseRunOut(replied);
    expect(await sut.takeOver(replied)).toEqual({ taken: false, reply: '<xml>done</xml>' });
  });
});

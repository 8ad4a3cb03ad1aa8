import { DataSource } from 'typeorm';
import { connectDataSource, createTestDatabase, TestDatabase } from 'test/support/test-database';

/** The migrations on real PostgreSQL: every one reverts, and the ones that reshape a table keep its rows. */
describe('Migrations (PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  const constraintsOf = async (table: string): Promise<string[]> =>
    (
      await dataSource.query<{ name: string }[]>(
        `SELECT conname AS name FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY conname`,
        [table],
      )
    ).map((row) => row.name);

  /** Reverts migrations, newest first, up to and including `name`. */
  const revertThrough = async (name: string): Promise<void> => {
    for (;;) {
      const [last] = await dataSource.query<{ name: string }[]>('SELECT name FROM migrations ORDER BY id DESC LIMIT 1');
      await dataSource.undoLastMigration({ transaction: 'each' });
      if (last.name === name) {
        return;
      }
    }
  };

  beforeEach(async () => {
    db = await createTestDatabase();
    dataSource = await connectDataSource(db);
  });

  afterEach(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  it('should apply every migration, revert each of them, and apply them again', async () => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    expect(applied.length).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < applied.length; i += 1) {
      await dataSource.undoLastMigration({ transaction: 'each' });
    }
    const tables = await dataSource.query<{ name: string }[]>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`,
    );
    expect(tables).toEqual([]);
    expect(await dataSource.runMigrations({ transaction: 'each' })).toHaveLength(applied.length);
  });

  it('should re-key recorded inbound messages by (official account, dedupe key) and back, keeping them', async () => {
    await dataSource.runMigrations({ transaction: 'each' });
    await dataSource.query(
      `INSERT INTO wechat_inbound_messages (to_user_name, dedupe_key, from_user_name, msg_type, msg_id,
         wechat_create_time, fields, reply)
       VALUES ('gh_a', 'msg:1', 'o-user', 'text', '1', 1763900000, '{"Content":"hi"}', 'success')`,
    );
    expect(await constraintsOf('wechat_inbound_messages')).toEqual(['PK_wechat_inbound_messages']);
    await expect(
      dataSource.query(
        `INSERT INTO wechat_inbound_messages (to_user_name, dedupe_key, from_user_name, msg_type, wechat_create_time,
           fields) VALUES ('gh_a', 'msg:1', 'o-user', 'text', 1, '{}')`,
      ),
    ).rejects.toThrow(/duplicate key/);

    await revertThrough('InboundMessageKey1763900300000');
    expect(await constraintsOf('wechat_inbound_messages')).toEqual([
      'UQ_wechat_inbound_messages_to_user_dedupe_key',
      'wechat_inbound_messages_pkey',
    ]);
    const before = await dataSource.query<{ id: string; reply: string }[]>(
      `SELECT id, reply FROM wechat_inbound_messages WHERE to_user_name = 'gh_a' AND dedupe_key = 'msg:1'`,
    );
    expect(before).toEqual([{ id: expect.stringMatching(/^[0-9a-f-]{36}$/), reply: 'success' }]);

    await dataSource.runMigrations({ transaction: 'each' });
    expect(await constraintsOf('wechat_inbound_messages')).toEqual(['PK_wechat_inbound_messages']);
    expect(
      await dataSource.query(
        `SELECT dedupe_key, fields, reply FROM wechat_inbound_messages WHERE to_user_name = 'gh_a'`,
      ),
    ).toEqual([{ dedupe_key: 'msg:1', fields: { Content: 'hi' }, reply: 'success' }]);
  });

  it('should keep the auto-reply rules that existed under the default official account, and drop the column back', async () => {
    await dataSource.runMigrations({ transaction: 'each' });
    await revertThrough('WechatAccounts1764000000000');
    await dataSource.query(
      `INSERT INTO wechat_auto_reply_rules (match_kind, keyword, reply) VALUES ('exact', 'hi', '{"type":"text"}')`,
    );
    await dataSource.runMigrations({ transaction: 'each' });
    expect(await dataSource.query(`SELECT appid, keyword FROM wechat_auto_reply_rules`)).toEqual([
      { appid: '', keyword: 'hi' },
    ]);
    await revertThrough('WechatAccounts1764000000000');
    expect(await dataSource.query(`SELECT keyword FROM wechat_auto_reply_rules`)).toEqual([{ keyword: 'hi' }]);
  });

  it('should move settled replies back into their messages when the replies table is reverted', async () => {
    await dataSource.runMigrations({ transaction: 'each' });
    await dataSource.query(
      `INSERT INTO wechat_inbound_messages (to_user_name, dedupe_key, from_user_name, msg_type, wechat_create_time,
         fields, reply)
       VALUES ('gh_a', 'msg:claimed', 'o-user', 'text', 1, '{}', NULL),
              ('gh_a', 'msg:pending', 'o-user', 'text', 2, '{}', NULL),
              ('gh_a', 'msg:inline', 'o-user', 'text', 3, '{}', 'success')`,
    );
    await dataSource.query(
      `INSERT INTO wechat_inbound_replies (to_user_name, dedupe_key, reply) VALUES ('gh_a', 'msg:claimed', '<xml/>')`,
    );
    await revertThrough('InboundReplies1764330000000');
    expect(
      await dataSource.query(
        `SELECT dedupe_key, reply, replied_at IS NOT NULL AS replied FROM wechat_inbound_messages ORDER BY dedupe_key`,
      ),
    ).toEqual([
      { dedupe_key: 'msg:claimed', reply: '<xml/>', replied: true },
      { dedupe_key: 'msg:inline', reply: 'success', replied: false },
      { dedupe_key: 'msg:pending', reply: null, replied: false },
    ]);
    expect(await dataSource.query(`SELECT to_regclass('wechat_inbound_replies') AS t`)).toEqual([{ t: null }]);
  });
});

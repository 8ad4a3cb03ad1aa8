import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A claim on an inbound message has a lease: `lease_until` is when the delivery that claimed it is past its deadline.
 * A claimed row without a reply whose lease has run out is taken over by the next delivery of the message (see
 * InboundMessageRepository.takeOver). Rows claimed before this column existed have none: they count as run out.
 */
export class InboundMessageLease1764316000000 implements MigrationInterface {
  name = 'InboundMessageLease1764316000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE wechat_inbound_messages ADD COLUMN lease_until timestamptz');
    await queryRunner.query(
      `CREATE INDEX "IDX_wechat_inbound_messages_follow_events" ON wechat_inbound_messages
         (to_user_name, from_user_name, wechat_create_time) WHERE event IN ('subscribe', 'unsubscribe')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "IDX_wechat_inbound_messages_follow_events"');
    await queryRunner.query('ALTER TABLE wechat_inbound_messages DROP COLUMN lease_until');
  }
}

import { Logger } from '@nestjs/common';
import type { OfficialAccount } from 'src/accounts/account';
import type { AccountRegistry } from 'src/accounts/account.registry';
import type { WebhookPipeline } from 'src/webhook/handlers/webhook-pipeline';
import type { ClaimResult, InboundMessageRepository } from 'src/webhook/inbound-message.repository';
import { SpoolReplayService } from 'src/webhook/outage/spool-replay.service';
import type { SpooledDelivery, WebhookSpool } from 'src/webhook/outage/webhook-spool';
import type { Reply } from 'src/wechat/messages/reply';

const ACCOUNT: OfficialAccount = {
  kind: 'official_account',
  appid: 'wx_replay',
  name: null,
  source: 'env',
  createdAt: null,
  updatedAt: null,
  aesKeys: [],
  welcomeText: '感谢关注！',
};
const RULE_ANSWER: Reply = { type: 'text', content: '你好呀' };
const RECEIVED_AT = Date.UTC(2026, 11, 1, 12);

const delivery: SpooledDelivery = {
  appid: ACCOUNT.appid!,
  fields: {
    ToUserName: 'gh_replay',
    FromUserName: 'o-replay',
    CreateTime: '1764590400',
    MsgType: 'text',
    Content: '你好',
    MsgId: '77',
  },
  encrypted: false,
  receivedAt: RECEIVED_AT,
};

/** A replay of one spooled text that changes no state (no forwarding): a rule answers it. */
function replayOf(claim: ClaimResult) {
  const removed: string[] = [];
  const spool = {
    hasPending: true,
    segmentsToReplay: () => Promise.resolve(['segment']),
    read: () => Promise.resolve([delivery]),
    remove: (path: string) => Promise.resolve(void removed.push(path)),
  } as unknown as WebhookSpool;
  const messages = { claim: jest.fn(() => Promise.resolve(claim)) };
  const pipeline = {
    changesState: jest.fn(() => false),
    run: jest.fn(() => Promise.resolve(RULE_ANSWER)),
    deliverLate: jest.fn(() => Promise.resolve(true)),
  };
  const accounts = { officialAccount: () => ACCOUNT } as unknown as AccountRegistry;
  const service = new SpoolReplayService(
    spool,
    messages as unknown as InboundMessageRepository,
    pipeline as unknown as WebhookPipeline,
    accounts,
  );
  return { service, messages, pipeline, removed };
}

describe(SpoolReplayService.name, () => {
  // Each replayed segment is logged as a warning; the tests look at what was replayed instead.
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it("should record a spooled message as answered `success` and send a rule's answer to it as a late reply", async () => {
    const { service, messages, pipeline, removed } = replayOf({ claimed: true, reply: 'success' });
    await service.tick();
    expect(messages.claim).toHaveBeenCalledWith(expect.objectContaining({ dedupeKey: 'msg:77' }), 'success');
    expect(pipeline.deliverLate).toHaveBeenCalledTimes(1);
    expect(pipeline.deliverLate).toHaveBeenCalledWith(
      RULE_ANSWER,
      expect.objectContaining({ msgId: '77', fromUserName: 'o-replay' }),
      { account: ACCOUNT, deadline: RECEIVED_AT },
    );
    expect(removed).toEqual(['segment']);
  });

  it('should answer nothing more when the message was recorded meanwhile (a retry answered it)', async () => {
    const { service, pipeline, removed } = replayOf({ claimed: false, reply: '<xml>…</xml>' });
    await service.tick();
    expect(pipeline.run).not.toHaveBeenCalled();
    expect(pipeline.deliverLate).not.toHaveBeenCalled();
    expect(removed).toEqual(['segment']);
  });
});

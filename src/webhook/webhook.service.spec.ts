import { officialAccount } from 'test/support/accounts';
import type { WebhookPipeline } from 'src/webhook/handlers/webhook-pipeline';
import type { InboundMessageRepository } from 'src/webhook/inbound-message.repository';
import type { ConfigService } from '@nestjs/config';
import type { Configuration } from 'src/config/configuration';
import type { Metrics } from 'src/metrics/metrics';
import type { WebhookSpool } from 'src/webhook/outage/webhook-spool';
import { REPLY_DEADLINE_MS, WebhookService } from 'src/webhook/webhook.service';
import type { Reply } from 'src/wechat/messages/reply';

const xml =
  '<xml><ToUserName>gh_1</ToUserName><FromUserName>o-late</FromUserName><CreateTime>1700000000</CreateTime>' +
  '<MsgType>text</MsgType><Content>slow</Content><MsgId>77</MsgId></xml>';

describe(WebhookService.name, () => {
  it('should answer success in time and hand a reply that came too late to the late-reply taker', async () => {
    const late: Reply = { type: 'text', content: 'sorry I am late' };
    const deliverLate = jest.fn().mockResolvedValue(true);
    const pipeline = {
      changesState: () => false,
      run: () => new Promise<Reply>((resolve) => setTimeout(() => resolve(late), 400)),
      deliverLate,
    } as unknown as WebhookPipeline;
    const messages = {
      claim: jest.fn((_record: unknown, reply: string | null) => Promise.resolve({ claimed: true, reply })),
    } as unknown as InboundMessageRepository;
    const counted: string[] = [];
    const metrics = {
      webhookDelivery: (outcome: string) => void counted.push(outcome),
      webhookDeadlineFallback: () => void counted.push('deadline'),
    } as unknown as Metrics;
    const spool = { append: jest.fn() } as unknown as WebhookSpool;
    const config = { get: () => ({ testHoldAfterClaimMs: 0 }) } as unknown as ConfigService<Configuration, true>;
    const sut = new WebhookService(messages, pipeline, spool, metrics, config);
    // The delivery arrived long ago: its deadline is 100 ms away.
    const answer = await sut.receive(officialAccount(), {}, xml, undefined, Date.now() - REPLY_DEADLINE_MS + 100);
    expect(answer.body).toBe('success');
    expect(counted).toEqual(['deadline', 'success']);
    expect(deliverLate).not.toHaveBeenCalled();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(deliverLate).toHaveBeenCalledWith(
      late,
      expect.objectContaining({ msgId: '77' }),
      expect.objectContaining({ account: expect.anything() }),
    );
  });
});

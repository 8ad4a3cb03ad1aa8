import { Injectable, Module, Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { IdentityService } from 'src/identity/identity.service';
import { AutoReplyService } from 'src/webhook/auto-reply.service';
import { AutoReplyHandler } from 'src/webhook/handlers/auto-reply.handler';
import { MessageHandler, NextHandler, WebhookStep } from 'src/webhook/handlers/message-handler';
import { SubscribeHandler } from 'src/webhook/handlers/subscribe.handler';
import { UnsubscribeHandler } from 'src/webhook/handlers/unsubscribe.handler';
import { WebhookPipeline } from 'src/webhook/handlers/webhook-pipeline';
import { InboundMessageRepository } from 'src/webhook/inbound-message.repository';
import type { InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';
import { officialAccount } from 'test/support/accounts';

const base = { toUserName: 'gh_test', fromUserName: 'o-user', createTime: 1_700_000_000, raw: {} };
const text = { ...base, kind: 'message', msgType: 'text', msgId: '1', content: 'hi' } as InboundMessage;
const subscribe = { ...base, kind: 'event', msgType: 'event', event: 'subscribe' } as InboundMessage;
const scan = { ...base, kind: 'event', msgType: 'event', event: 'SCAN', eventKey: 'login-1' } as InboundMessage;

let log: string[];
/** What the fake record says: a later follow event of the follower is recorded. */
let newerFollowEvent = false;
const context = { account: officialAccount({ appid: 'wx-test', welcomeText: 'welcome' }) };

/** The webhook module's own steps, with fakes for what they call. */
@Module({
  providers: [
    SubscribeHandler,
    UnsubscribeHandler,
    AutoReplyHandler,
    {
      provide: IdentityService,
      useValue: {
        linkOrCreate: () => Promise.resolve(log.push('subscribe')),
        setSubscribed: () => Promise.resolve(true),
      },
    },
    {
      provide: InboundMessageRepository,
      useValue: { hasNewerFollowEvent: () => Promise.resolve(newerFollowEvent) },
    },
    {
      provide: AutoReplyService,
      useValue: {
        matchText: () => Promise.resolve(log.push('auto-reply') && null),
        matchEvent: () => Promise.resolve(null),
      },
    },
  ],
})
class OwnStepsModule {}

const isScan = (message: InboundMessage): boolean => message.kind === 'event' && message.event === 'SCAN';

/**
 * A module of its own (as scan-to-login's will be) contributing one step: it answers SCAN events and passes the rest
 * on (with `onlyScans`, it accepts nothing else). Nothing of the webhook imports it, nor does it import the webhook's.
 */
function outsideModule(order: number, mutates: boolean, onlyScans = false): Type {
  @Injectable()
  @WebhookStep({ order, mutates })
  class ScanStep implements MessageHandler {
    readonly accepts = onlyScans ? isScan : undefined;

    handle(message: InboundMessage, next: NextHandler): Promise<Reply | null> {
      log.push('outside');
      return isScan(message) ? Promise.resolve({ type: 'text', content: 'scanned' }) : next();
    }
  }
  @Module({ providers: [ScanStep] })
  class ScanModule {}
  return ScanModule;
}

async function pipelineWith(...contributed: Type[]): Promise<WebhookPipeline> {
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryModule, OwnStepsModule, ...contributed],
    providers: [WebhookPipeline],
  }).compile();
  await moduleRef.init();
  return moduleRef.get(WebhookPipeline);
}

describe(WebhookPipeline.name, () => {
  beforeEach(() => {
    log = [];
    newerFollowEvent = false;
  });

  it('should greet but not write a follower whose later follow event is already recorded', async () => {
    const sut = await pipelineWith(outsideModule(500, false));
    newerFollowEvent = true;
    expect(await sut.run(subscribe, context)).toEqual({ type: 'text', content: 'welcome' });
    expect(log).toEqual([]);
  });

  it('should run a step contributed by another module in its declared order among the webhook steps', async () => {
    const sut = await pipelineWith(outsideModule(500, false));
    expect(await sut.run(text, context)).toBeNull();
    expect(log).toEqual(['outside', 'auto-reply']);
    log = [];
    expect(await sut.run(subscribe, context)).toEqual({ type: 'text', content: 'welcome' });
    expect(log).toEqual(['subscribe']);
  });

  it('should let a step ordered before the webhook steps see a message first and answer it', async () => {
    const sut = await pipelineWith(outsideModule(50, false));
    expect(await sut.run(subscribe, context)).toEqual({ type: 'text', content: 'welcome' });
    expect(log).toEqual(['outside', 'subscribe']);
    log = [];
    expect(await sut.run(scan, context)).toEqual({ type: 'text', content: 'scanned' });
    expect(log).toEqual(['outside']);
  });

  it('should claim first the messages a step declared as changing state accepts, and only those', async () => {
    const own = await pipelineWith(outsideModule(950, false));
    expect([
      own.changesState(text, context),
      own.changesState(scan, context),
      own.changesState(subscribe, context),
    ]).toEqual([false, false, true]);
    const scans = await pipelineWith(outsideModule(950, true, true));
    expect([
      scans.changesState(text, context),
      scans.changesState(scan, context),
      scans.changesState(subscribe, context),
    ]).toEqual([false, true, true]);
    // A step that changes state and declares no `accepts` takes every message: every message is claimed first.
    const everything = await pipelineWith(outsideModule(950, true));
    expect([everything.changesState(text, context), everything.changesState(scan, context)]).toEqual([true, true]);
  });

  it('should refuse at start-up two steps declaring the same order', async () => {
    await expect(pipelineWith(outsideModule(100, false))).rejects.toThrow(
      /Webhook steps (SubscribeHandler and ScanStep|ScanStep and SubscribeHandler) both take order 100/,
    );
  });
});

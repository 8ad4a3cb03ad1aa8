import { MessageHandler, runPipeline, WebhookContext } from 'src/webhook/handlers/message-handler';
import { officialAccount } from 'test/support/accounts';
import type { InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

const message = { kind: 'message', msgType: 'text', content: 'hi' } as InboundMessage;
const context: WebhookContext = { account: officialAccount() };

function handler(name: string, log: string[], answer?: Reply): MessageHandler {
  return {
    handle: async (_message, next) => {
      log.push(name);
      return answer ?? next();
    },
  };
}

describe('runPipeline', () => {
  it('should run the handlers in order until one answers', async () => {
    const log: string[] = [];
    const reply = await runPipeline(
      [handler('a', log), handler('b', log, { type: 'text', content: 'b' }), handler('c', log)],
      message,
      context,
    );
    expect(reply).toEqual({ type: 'text', content: 'b' });
    expect(log).toEqual(['a', 'b']);
  });

  it('should end in null (success) when nobody answers', async () => {
    const log: string[] = [];
    expect(await runPipeline([handler('a', log), handler('b', log)], message, context)).toBeNull();
    expect(await runPipeline([], message, context)).toBeNull();
    expect(log).toEqual(['a', 'b']);
  });

  it('should pass a step by, without calling it, for a message it does not accept', async () => {
    const log: string[] = [];
    const picky: MessageHandler = {
      ...handler('picky', log, { type: 'text', content: 'picky' }),
      accepts: () => false,
    };
    const reply = await runPipeline([picky, handler('b', log, { type: 'text', content: 'b' })], message, context);
    expect(reply).toEqual({ type: 'text', content: 'b' });
    expect(log).toEqual(['b']);
  });
});

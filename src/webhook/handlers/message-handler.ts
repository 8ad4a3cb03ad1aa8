import type { InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

/** The next handler of the pipeline; the end of the pipeline answers null (= `success`). */
export type NextHandler = () => Promise<Reply | null>;

/** One step of the ordered webhook pipeline: answer, or pass on to `next` (EasyWeChat's `($message, $next)`). */
export interface MessageHandler {
  handle(message: InboundMessage, next: NextHandler): Promise<Reply | null>;
  /**
   * True when handling `message` changes something (e.g. a follower row). Such messages are claimed in the database
   * before the pipeline runs, so a retry never runs it twice; for the others the reply is worked out first and
   * recorded with the message in one statement.
   */
  changesState(message: InboundMessage): boolean;
}

/** The ordered handlers: subscribe, unsubscribe, auto-reply. */
export const WEBHOOK_HANDLERS = Symbol('WEBHOOK_HANDLERS');

/** Runs `handlers` in order; each decides whether to call the next. */
export function runPipeline(handlers: readonly MessageHandler[], message: InboundMessage): Promise<Reply | null> {
  const step = (index: number): Promise<Reply | null> =>
    index >= handlers.length ? Promise.resolve(null) : handlers[index].handle(message, () => step(index + 1));
  return step(0);
}

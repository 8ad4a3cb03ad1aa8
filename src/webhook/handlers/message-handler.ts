import { DiscoveryService } from '@nestjs/core';
import type { OfficialAccount } from 'src/accounts/account';
import type { InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

/** What a step knows of the delivery besides the message: the official account it came to. */
export interface WebhookContext {
  readonly account: OfficialAccount;
  /**
   * When a step's answer must be ready (epoch ms), WeChat's deadline less the margin for storing the reply; a step
   * that waits on something slow (the team's backend) waits no longer. In a spooled delivery's replay it is past
   * (WeChat was answered `success` when the delivery arrived). Unset outside a delivery.
   */
  readonly deadline?: number;
  /**
   * True when this delivery took over a claim whose first delivery died before settling its reply: the pipeline runs
   * a second time, and a step that keeps a record of its own work (a forward) looks there before doing it again.
   */
  readonly retake?: boolean;
}

/** The next handler of the pipeline; the end of the pipeline answers null (= `success`). */
export type NextHandler = () => Promise<Reply | null>;

/**
 * One step of the ordered webhook pipeline: answer, or pass on to `next` (EasyWeChat's `($message, $next)`). A
 * step is a provider of any module, marked with `@WebhookStep({ order, mutates })`; the webhook finds it at start-up,
 * so the module contributing it is not imported by the webhook's (see WebhookPipeline).
 */
export interface MessageHandler<M extends InboundMessage = InboundMessage> {
  /**
   * The messages this step handles (`M`, best written as a type guard); the others pass it by without `handle`
   * being called. Left out: every message. With `mutates`, this is also what tells which messages change state.
   * `context` is the delivery's, or the replayed delivery's: always given, since a step may depend on the account.
   */
  accepts?(message: InboundMessage, context: WebhookContext): boolean;
  handle(message: M, next: NextHandler, context: WebhookContext): Promise<Reply | null>;
}

export interface WebhookStepOptions {
  /**
   * The step's place in the pipeline, lowest first, one step to a number. The webhook's own: subscribe 100,
   * unsubscribe 200, auto-reply 900 (the rules answer what no earlier step did). A step that must see a message
   * before the webhook's own (scan-to-login's SCAN and subscribe-with-scene, say) takes a number below 100.
   */
  order: number;
  /**
   * True when handling a message it accepts changes state (a row, an attempt). Such messages are claimed in the
   * database before the pipeline runs, so a retried delivery never runs it twice; for the others the reply is worked
   * out first and recorded with the message in one statement.
   */
  mutates: boolean;
}

/**
 * What becomes of a reply the pipeline produced after the delivery was answered `success` (it missed WeChat's
 * deadline): a provider of any module marked `@WebhookLateReply()` takes it (the messaging module sends it as a
 * customer-service message). Without one, a late reply is dropped, as before.
 */
export interface LateReplyHandler {
  deliverLate(reply: Reply, message: InboundMessage, context: WebhookContext): Promise<void>;
}

/** The discoverable metadata behind `@WebhookLateReply()`. */
export const WebhookLateReplyMetadata = DiscoveryService.createDecorator<Record<string, never>>();

/** Makes a provider (an `@Injectable()` LateReplyHandler) the taker of late replies. */
export function WebhookLateReply(): ClassDecorator {
  return WebhookLateReplyMetadata({});
}

/** The discoverable metadata behind `@WebhookStep()`. */
export const WebhookStepMetadata = DiscoveryService.createDecorator<WebhookStepOptions>();

/** Makes a provider (an `@Injectable()` MessageHandler, in any module) a step of the webhook pipeline. */
export function WebhookStep(options: WebhookStepOptions): ClassDecorator {
  return WebhookStepMetadata(options);
}

/** Runs `handlers` in order, past the ones that do not accept the message; each decides whether to call the next. */
export function runPipeline(
  handlers: readonly MessageHandler[],
  message: InboundMessage,
  context: WebhookContext,
): Promise<Reply | null> {
  const step = (index: number): Promise<Reply | null> => {
    if (index >= handlers.length) {
      return Promise.resolve(null);
    }
    const handler = handlers[index];
    return handler.accepts === undefined || handler.accepts(message, context)
      ? handler.handle(message, () => step(index + 1), context)
      : step(index + 1);
  };
  return step(0);
}

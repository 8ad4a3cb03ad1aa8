import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import {
  LateReplyHandler,
  MessageHandler,
  runPipeline,
  WebhookContext,
  WebhookLateReplyMetadata,
  WebhookStepMetadata,
} from 'src/webhook/handlers/message-handler';
import type { InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

interface Step {
  name: string;
  order: number;
  mutates: boolean;
  handler: MessageHandler;
}

/**
 * The webhook's ordered handler pipeline, gathered at start-up from every provider marked `@WebhookStep()`, in
 * whatever module it is: a module adds a step by providing it (the webhook module imports none of them). Orders
 * must be distinct numbers, so the order never depends on module loading.
 */
@Injectable()
export class WebhookPipeline implements OnModuleInit {
  private readonly logger = new Logger(WebhookPipeline.name);
  private handlers: readonly MessageHandler[] = [];
  private mutating: readonly MessageHandler[] = [];
  private lateReplies: readonly LateReplyHandler[] = [];

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    const steps: Step[] = this.discovery.getProviders({ metadataKey: WebhookStepMetadata.KEY }).map((wrapper) => {
      const options = this.discovery.getMetadataByDecorator(WebhookStepMetadata, wrapper);
      const handler = wrapper.instance as MessageHandler | undefined;
      if (!options || !Number.isFinite(options.order) || typeof options.mutates !== 'boolean') {
        throw new Error(`Webhook step ${wrapper.name} needs @WebhookStep({ order: <number>, mutates: <boolean> })`);
      }
      if (!wrapper.isDependencyTreeStatic() || typeof handler?.handle !== 'function') {
        throw new Error(`Webhook step ${wrapper.name} must be a singleton provider with a handle() method`);
      }
      return { name: String(wrapper.name), order: options.order, mutates: options.mutates, handler };
    });
    steps.sort((a, b) => a.order - b.order);
    for (let i = 1; i < steps.length; i += 1) {
      if (steps[i].order === steps[i - 1].order) {
        throw new Error(`Webhook steps ${steps[i - 1].name} and ${steps[i].name} both take order ${steps[i].order}`);
      }
    }
    this.handlers = steps.map((step) => step.handler);
    this.mutating = steps.filter((step) => step.mutates).map((step) => step.handler);
    this.lateReplies = this.discovery
      .getProviders({ metadataKey: WebhookLateReplyMetadata.KEY })
      .map((wrapper) => wrapper.instance as LateReplyHandler)
      .filter((handler) => typeof handler?.deliverLate === 'function');
    this.logger.debug(`Webhook pipeline: ${steps.map((step) => `${step.name} (${step.order})`).join(', ')}`);
  }

  /** True when a step that changes state accepts `message`: it is then claimed before the pipeline runs. */
  changesState(message: InboundMessage, context: WebhookContext): boolean {
    for (let i = 0; i < this.mutating.length; i += 1) {
      const handler = this.mutating[i];
      if (handler.accepts === undefined || handler.accepts(message, context)) {
        return true;
      }
    }
    return false;
  }

  /** Hands a reply that missed the deadline to the `@WebhookLateReply()` providers; false when there is none. */
  async deliverLate(reply: Reply, message: InboundMessage, context: WebhookContext): Promise<boolean> {
    for (const handler of this.lateReplies) {
      await handler.deliverLate(reply, message, context);
    }
    return this.lateReplies.length > 0;
  }

  /** The reply of the first step that answers, or null (`success`). */
  run(message: InboundMessage, context: WebhookContext): Promise<Reply | null> {
    return runPipeline(this.handlers, message, context);
  }
}

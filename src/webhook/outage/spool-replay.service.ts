import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AccountRegistry } from 'src/accounts/account.registry';
import { isDatabaseDownError } from 'src/database/database-errors';
import type { WebhookContext } from 'src/webhook/handlers/message-handler';
import { WebhookPipeline } from 'src/webhook/handlers/webhook-pipeline';
import { inboundRecord, InboundMessageRepository } from 'src/webhook/inbound-message.repository';
import { SpooledDelivery, WebhookSpool } from 'src/webhook/outage/webhook-spool';
import { SUCCESS } from 'src/webhook/webhook.service';
import { InboundMessage, parseInbound } from 'src/wechat/messages/inbound-message';
import type { XmlNode } from 'src/wechat/xml/xml.codec';

/** How often spooled deliveries are tried against the database. */
const REPLAY_INTERVAL_MS = 1000;
/** How often the folder is searched for the segments of processes that died before replaying them. */
const ORPHAN_SCAN_MS = 30_000;

/**
 * Replays the spool (WebhookSpool) into PostgreSQL once it answers again, oldest delivery first, each exactly as a
 * delivery would have recorded it: the dedupe key decides "once" (a message recorded before the outage, or by a
 * retry on another instance, is left as it is). WeChat was answered `success`, so that is the reply recorded. The
 * steps run past their deadline — for a message this replay recorded, or took over once the claim's lease ran out
 * (like a late retry) — so whatever they answer is late: a rule's answer or the welcome text is handed to the late
 * replies (a customer-service message, as for any delivery that missed its deadline), and a forward to the team's
 * backend is made, whose reply goes out the same way. A segment is removed only when every delivery in it is
 * recorded.
 */
@Injectable()
export class SpoolReplayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SpoolReplayService.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private nextOrphanScan = 0;

  constructor(
    private readonly spool: WebhookSpool,
    private readonly messages: InboundMessageRepository,
    private readonly pipeline: WebhookPipeline,
    private readonly accounts: AccountRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), REPLAY_INTERVAL_MS);
    this.timer.unref();
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round, unless one is running or there is nothing to do; failures wait for the next round. */
  tick(): Promise<void> {
    if (this.running) {
      return this.running;
    }
    if (!this.spool.hasPending && Date.now() < this.nextOrphanScan) {
      return Promise.resolve();
    }
    this.running = this.replay()
      .catch((error: unknown) => {
        if (isDatabaseDownError(error)) {
          this.logger.debug('The database is still down: the spool waits');
        } else {
          this.logger.error(
            `Replaying the webhook spool failed: ${error instanceof Error ? error.stack : String(error)}`,
          );
        }
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async replay(): Promise<void> {
    const scanning = Date.now() >= this.nextOrphanScan;
    for (const path of await this.spool.segmentsToReplay()) {
      const deliveries = await this.spool.read(path);
      for (const delivery of deliveries) {
        if (!(await this.record(delivery))) {
          // In order: a delivery another one still holds keeps the rest of its segment for the next round.
          return;
        }
      }
      await this.spool.remove(path);
      this.logger.warn(`Replayed ${deliveries.length} spooled webhook deliveries from ${path}`);
    }
    if (scanning) {
      this.nextOrphanScan = Date.now() + ORPHAN_SCAN_MS;
    }
  }

  /** Records one spooled delivery; false when a live delivery of it still holds its claim (try again later). */
  private async record(delivery: SpooledDelivery): Promise<boolean> {
    const message = parseInbound(delivery.fields as unknown as XmlNode);
    const record = inboundRecord(message, delivery.encrypted);
    const context = this.contextOf(delivery);
    if (!context) {
      await this.messages.claim(record, SUCCESS);
      return true;
    }
    if (!this.pipeline.changesState(message, context)) {
      // Recorded first, so that a message a retry recorded (and answered) meanwhile is not answered again.
      if ((await this.messages.claim(record, SUCCESS)).claimed) {
        await this.runSteps(delivery, message, context);
      }
      return true;
    }
    const claim = await this.messages.claim(record);
    if (!claim.claimed) {
      if (claim.reply !== null) {
        return true;
      }
      const takeOver = await this.messages.takeOver(record);
      if (!takeOver.taken) {
        return takeOver.reply !== null;
      }
    }
    // A takeover: the delivery that died may have done a step's work already (a forward), and the step looks first.
    await this.runSteps(delivery, message, { ...context, retake: !claim.claimed });
    await this.messages.settleReply(record, SUCCESS);
    return true;
  }

  /**
   * The context the delivery's steps run in: its account, and as the deadline its arrival, which WeChat's `success`
   * followed (at once, or at the deadline), so that every reply is late. Undefined when its account is no longer
   * configured: it is recorded then, without its steps.
   */
  private contextOf(delivery: SpooledDelivery): WebhookContext | undefined {
    try {
      const account = this.accounts.officialAccount(delivery.appid ?? undefined);
      return { account, deadline: delivery.receivedAt };
    } catch (error) {
      this.logger.error(
        `Spooled ${deliveryName(delivery)} is recorded without its steps: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
  }

  /** Runs the delivery's steps; their reply, late by now, goes to the late replies. */
  private async runSteps(delivery: SpooledDelivery, message: InboundMessage, context: WebhookContext): Promise<void> {
    try {
      const reply = await this.pipeline.run(message, context);
      if (reply) {
        await this.pipeline.deliverLate(reply, message, context);
      }
    } catch (error) {
      if (isDatabaseDownError(error)) {
        // The claim is ours for its lease; the next round takes it over and runs the steps again.
        throw error;
      }
      this.logger.error(
        `Spooled ${deliveryName(delivery)} could not be handled: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

const deliveryName = (delivery: SpooledDelivery): string =>
  `${delivery.fields.MsgId ?? `${delivery.fields.Event}@${delivery.fields.CreateTime}`} from ${delivery.fields.FromUserName}`;

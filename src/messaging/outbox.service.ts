import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AccountRegistry } from 'src/accounts/account.registry';
import { requireFields } from 'src/accounts/account';
import { AppException } from 'src/common/errors/app-exception';
import type { Configuration } from 'src/config/configuration';
import { NewMessage, replyAsCustomMessage } from 'src/messaging/dto/send-message';
import { CUSTOM_MESSAGE_WINDOW_MS, FollowerActivityRepository } from 'src/messaging/follower-activity.repository';
import { MessageClient } from 'src/messaging/message.client';
import {
  ClaimedMessage,
  MessageOrigin,
  MessageStatus,
  OutboxRepository,
  StoredMessage,
} from 'src/messaging/outbox.repository';
import { QueueRunner } from 'src/messaging/queue-runner';
import { classifySendFailure, OUTBOX_BACKOFF_MS, OUTBOX_MAX_ATTEMPTS, retryDelay } from 'src/messaging/retry-policy';
import type { Reply } from 'src/wechat/messages/reply';
import { Metrics } from 'src/metrics/metrics';

/** What the admin API shows of a message. */
export interface MessageView {
  id: string;
  kind: string;
  appid: string;
  touser: string;
  status: MessageStatus;
  attempts: number;
  lastError: { errcode: number | null; error: string; message: string } | null;
  msgid: string | null;
  origin: MessageOrigin;
  sentAt: string | null;
  createdAt: string;
}

/** Sends at once per instance: enough to keep WeChat's answer time from capping the rate. */
const CONCURRENCY = 64;
/** How often an idle instance looks for others' messages, retries that came due and lapsed leases. */
const POLL_MS = 250;

const view = (message: StoredMessage): MessageView => ({
  id: message.id,
  kind: message.kind,
  appid: message.appid,
  touser: message.touser,
  status: message.status,
  attempts: message.attempts,
  lastError:
    message.lastErrorCode === null
      ? null
      : { errcode: message.lastErrcode, error: message.lastErrorCode, message: message.lastError ?? '' },
  msgid: message.wechatMsgid,
  origin: message.origin,
  sentAt: message.sentAt ? new Date(message.sentAt).toISOString() : null,
  createdAt: new Date(message.createdAt).toISOString(),
});

/**
 * The outbox: customer-service, template and subscribe messages are written to PostgreSQL before the 202, then
 * claimed by whichever instance has a free slot (SKIP LOCKED, with a lease), sent through the token facade, retried
 * with backoff and jitter when WeChat is busy or silent, failed at once on a refusal (retry-policy.ts).
 */
@Injectable()
export class OutboxService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxService.name);
  private readonly leaseMs: number;
  private readonly runner: QueueRunner<ClaimedMessage>;

  constructor(
    private readonly repository: OutboxRepository,
    private readonly activity: FollowerActivityRepository,
    private readonly client: MessageClient,
    private readonly accounts: AccountRegistry,
    config: ConfigService<Configuration, true>,
    private readonly metrics: Metrics,
  ) {
    // Longer than any one send can take (WeChat's time-out, twice for the token facade's retry), with room to spare.
    this.leaseMs = 2 * config.get('wechat', { infer: true }).httpTimeoutMs + 5_000;
    this.runner = new QueueRunner<ClaimedMessage>({
      name: 'outbox',
      claim: (limit) => this.repository.claim(limit, this.leaseMs),
      work: (row) => this.deliver(row),
      concurrency: CONCURRENCY,
      pollMs: POLL_MS,
    });
  }

  onApplicationBootstrap(): void {
    this.runner.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.runner.stop();
  }

  /**
   * Queues a message of the admin API: 202 with `created`, or the first message of its idempotency key. A
   * customer-service message to a follower whose last interaction is older than 48 hours is refused (409
   * `outside_window`) before anything is queued or sent.
   */
  async enqueue(message: NewMessage): Promise<{ created: boolean; message: MessageView }> {
    const account =
      message.kind === 'subscribe'
        ? this.accounts.miniProgram(message.appid)
        : this.accounts.officialAccount(message.appid);
    const { appid } = requireFields(account, 'appid');
    if (message.kind === 'custom') {
      const last = await this.activity.lastInteraction(appid, message.touser);
      if (!last || Date.now() - new Date(last).getTime() > CUSTOM_MESSAGE_WINDOW_MS) {
        throw new AppException(
          409,
          'outside_window',
          `${message.touser} has not written to or acted on ${appid} in the last 48 hours: WeChat only delivers customer-service messages within that window (use a template message).`,
        );
      }
    }
    const result = await this.repository.insert({ ...message, appid, origin: 'api' });
    if (result.created) {
      this.runner.wake();
    }
    return { created: result.created, message: view(result.message) };
  }

  /**
   * Queues `reply` as a customer-service message to the follower who just wrote (a late reply: of the pipeline, or
   * of the team's backend). `key` makes it once per cause, whoever queues it again.
   */
  async enqueueReply(appid: string, openid: string, reply: Reply, origin: MessageOrigin, key: string): Promise<void> {
    const result = await this.repository.insert({
      kind: 'custom',
      appid,
      touser: openid,
      payload: replyAsCustomMessage(openid, reply),
      idempotencyKey: key,
      origin,
    });
    if (result.created) {
      this.logger.log(
        `A late reply to ${openid} (${origin}) is queued as customer-service message ${result.message.id}`,
      );
      this.runner.wake();
    }
  }

  async get(id: string): Promise<MessageView> {
    const message = /^[0-9a-f-]{36}$/i.test(id) ? await this.repository.find(id) : null;
    if (!message) {
      throw AppException.notFound(`No message with id ${id}.`);
    }
    return view(message);
  }

  async list(options: { status?: MessageStatus; limit: number; before?: string }): Promise<MessageView[]> {
    return (await this.repository.list(options)).map(view);
  }

  /** One try of a claimed message; records its outcome, never throws. */
  private async deliver(row: ClaimedMessage): Promise<void> {
    if (row.attempts > OUTBOX_MAX_ATTEMPTS) {
      // Taken over after a lease ran out on its last try: that try may have reached WeChat; no more.
      await this.finish(row, {
        status: 'failed',
        errcode: null,
        code: 'gave_up',
        error: `No outcome after ${OUTBOX_MAX_ATTEMPTS} tries.`,
      });
      return;
    }
    try {
      const { msgid } = await this.client.send(row.kind, row.appid, row.payload);
      await this.finish(row, { status: 'sent', msgid });
    } catch (error) {
      const failure = classifySendFailure(error);
      const delay = failure.retry ? retryDelay(OUTBOX_BACKOFF_MS, row.attempts) : null;
      if (delay !== null) {
        await this.finish(row, {
          status: 'queued',
          retryInMs: delay,
          errcode: failure.errcode,
          code: failure.code,
          error: failure.message,
        });
      } else {
        this.logger.warn(`Message ${row.id} failed after ${row.attempts} tries: ${failure.code} (${failure.errcode})`);
        await this.finish(row, {
          status: 'failed',
          errcode: failure.errcode,
          code: failure.code,
          error: failure.message,
        });
      }
    }
  }

  private async finish(row: ClaimedMessage, outcome: Parameters<OutboxRepository['finish']>[1]): Promise<void> {
    this.metrics.outboundMessage(row.kind, outcome.status);
    try {
      await this.repository.finish(row, outcome);
    } catch (error) {
      // The lease runs out and another instance tries again: at least once, never lost.
      this.logger.error(`Could not record the outcome of message ${row.id}: ${String(error)}`);
    }
  }
}

import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { withDeadline } from 'src/common/with-deadline';
import type { OfficialAccount } from 'src/accounts/account';
import type { Configuration } from 'src/config/configuration';
import { FORWARD_TIMEOUT_MS, ForwardClient, ForwardResult } from 'src/messaging/forward.client';
import { forwardBody, forwardId, parseBackendReply } from 'src/messaging/forward-message';
import {
  ClaimedForward,
  FirstTry,
  ForwardOutcome,
  ForwardRepository,
  NewForward,
} from 'src/messaging/forward.repository';
import { OutboxService } from 'src/messaging/outbox.service';
import { QueueRunner } from 'src/messaging/queue-runner';
import { FORWARD_BACKOFF_MS, retryDelay } from 'src/messaging/retry-policy';
import { dedupeKey, InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';
import { Metrics } from 'src/metrics/metrics';

/** A claimed forward's lease: longer than a try can take. */
const LEASE_MS = FORWARD_TIMEOUT_MS + 20_000;
const CONCURRENCY = 32;
const POLL_MS = 1_000;

/**
 * Forwarding to a team's backend. The first try is the delivery's own (ForwardStep), POSTed signed; its `reply` is
 * the passive reply when it comes within FORWARD_REPLY_WAIT_MS (and WeChat's deadline), a customer-service message
 * when later. A try the delivery's record cannot vouch for gets a row of `wechat_forwards` (see `forward`) — the
 * unique key of the inbound record makes it one per message. A failed try waits in the row for the next (backoff in
 * retry-policy.ts), taken by any instance; a 2xx ends it for good.
 */
@Injectable()
export class ForwardingService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ForwardingService.name);
  private readonly secret?: string;
  private readonly replyWaitMs: number;
  private readonly runner: QueueRunner<ClaimedForward>;

  constructor(
    private readonly repository: ForwardRepository,
    private readonly client: ForwardClient,
    private readonly outbox: OutboxService,
    config: ConfigService<Configuration, true>,
    private readonly metrics: Metrics,
  ) {
    const messaging = config.get('messaging', { infer: true });
    this.secret = messaging.forwardSecret;
    this.replyWaitMs = messaging.forwardReplyWaitMs;
    this.runner = new QueueRunner<ClaimedForward>({
      name: 'forwards',
      claim: (limit) => this.repository.claim(limit, LEASE_MS),
      work: (row) => this.retry(row),
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

  /** True when `account`'s messages go to a backend: it has a forwardUrl and an appid, and FORWARD_SECRET is set. */
  enabledFor(account: OfficialAccount): boolean {
    return Boolean(account.forwardUrl && account.appid && this.secret);
  }

  /**
   * Forwards a message just recorded (by its first delivery, or by one that took it over: `retake`). Resolves with
   * the backend's reply when `replyWanted` and it comes before FORWARD_REPLY_WAIT_MS and `deadline` (epoch ms), else
   * with null — and a reply that comes later is queued as a customer-service message. Never rejects.
   *
   * A forward gets a row of its own (`wechat_forwards`, from which it is retried) only when the delivery's record
   * cannot vouch for it. The usual forward — its reply wanted, the backend answering 2xx in time — has none: the
   * delivery settles its reply after the 2xx, so a message recorded as replied was forwarded, and one whose delivery
   * died first is forwarded again by the delivery that takes it over. A try that failed in time, or one still
   * running when the delivery must answer, is written before the delivery answers; a forward whose delivery does not
   * wait for it (a rule answered), or that a dead delivery may have made, before it is sent.
   */
  async forward(
    account: OfficialAccount,
    message: InboundMessage,
    replyWanted: boolean,
    { deadline, retake = false }: { deadline?: number; retake?: boolean } = {},
  ): Promise<Reply | null> {
    const appid = account.appid!;
    const key = dedupeKey(message);
    const id = forwardId(message.toUserName, key);
    const forward: NewForward = {
      id,
      appid,
      toUserName: message.toUserName,
      dedupeKey: key,
      openid: message.fromUserName,
      url: account.forwardUrl!,
      body: forwardBody(id, appid, message),
      replyWanted,
    };
    const rowFirst = !replyWanted || retake;
    if (rowFirst && !(await this.insert(forward, { status: 'delivering', leaseMs: LEASE_MS }, 'not forwarded'))) {
      return null;
    }
    const attempt = this.client
      .post(forward.url, forward.body, this.secret!)
      .then((result) => this.settle(id, appid, 1, replyWanted, result));
    if (!replyWanted) {
      void attempt.then(({ outcome }) => this.record(id, 1, outcome));
      return null;
    }
    // Past its deadline already (a spooled delivery's replay), the reply is late whenever it comes.
    const waitMs = Math.min(this.replyWaitMs, (deadline ?? Infinity) - Date.now());
    const { value: inTime } = await withDeadline(attempt, waitMs, null);
    if (inTime) {
      if (rowFirst) {
        this.record(id, 1, inTime.outcome);
      } else if (inTime.outcome.status !== 'delivered') {
        await this.insert(forward, inTime.outcome, 'not tried again');
      }
      return inTime.reply;
    }
    const recorded = rowFirst
      ? Promise.resolve(true)
      : this.insert(forward, { status: 'delivering', leaseMs: LEASE_MS }, 'not tried again if this try fails');
    void attempt.then(async ({ outcome, reply }) => {
      // As in a retry: the reply queued before the outcome is recorded.
      if (reply) {
        await this.replyLate(id, appid, message.fromUserName, reply);
      }
      if (await recorded) {
        this.record(id, 1, outcome);
      }
    });
    await recorded;
    return null;
  }

  /**
   * Writes a forward's row; false when it has one already, or when it could not be written (logged, with what
   * that means for the forward: `consequence`).
   */
  private async insert(forward: NewForward, first: FirstTry, consequence: string): Promise<boolean> {
    try {
      return await this.repository.insert(forward, first);
    } catch (error) {
      this.logger.error(`Could not record the forward of ${forward.dedupeKey}, ${consequence}: ${String(error)}`);
      return false;
    }
  }

  /** A later try, by whichever instance claimed the row; a reply is always late by now. */
  private async retry(row: ClaimedForward): Promise<void> {
    const result = await this.client.post(row.url, row.body, this.secret ?? '');
    const { outcome, reply } = this.settle(row.id, row.appid, row.attempts, row.replyWanted, result);
    // The reply is queued before the forward counts as delivered: a crash in between forwards again (the reply's
    // key keeps it one message), never loses the reply.
    if (reply) {
      await this.replyLate(row.id, row.appid, row.openid, reply);
    }
    this.record(row.id, row.attempts, outcome);
  }

  /** What a try's result means: its outcome, and the reply if one is wanted and valid. */
  private settle(
    id: string,
    appid: string,
    attempts: number,
    replyWanted: boolean,
    result: ForwardResult,
  ): { outcome: ForwardOutcome; reply: Reply | null } {
    let outcome: ForwardOutcome;
    let reply: Reply | null = null;
    if (result.ok) {
      outcome = { status: 'delivered' };
      const parsed = parseBackendReply(result.body);
      if (parsed.problem) {
        this.logger.warn(`The backend's answer to forward ${id} has no usable reply: ${parsed.problem}`);
      }
      reply = replyWanted ? parsed.reply : null;
    } else {
      const delay = result.permanent ? null : retryDelay(FORWARD_BACKOFF_MS, attempts);
      outcome =
        delay === null
          ? { status: 'failed', error: result.error }
          : { status: 'pending', retryInMs: delay, error: result.error };
      this.logger.warn(
        `Forward ${id} of ${appid} (try ${attempts}) failed: ${result.error}; ${delay === null ? 'given up' : `next try in ${Math.round(delay / 1000)} s`}`,
      );
    }
    this.metrics.forward(outcome.status);
    return { outcome, reply };
  }

  /** Records a try's outcome in the background; if that fails, the lease runs out and the forward is tried again. */
  private record(id: string, attempts: number, outcome: ForwardOutcome): void {
    this.repository
      .finish(id, attempts, outcome)
      .catch((error: unknown) => this.logger.error(`Could not record forward ${id}'s outcome: ${String(error)}`));
  }

  private async replyLate(id: string, appid: string, openid: string, reply: Reply): Promise<void> {
    try {
      await this.outbox.enqueueReply(appid, openid, reply, 'forward_reply', `forward:${id}`);
    } catch (error) {
      this.logger.error(`Could not queue the backend's late reply to ${openid}: ${String(error)}`);
    }
  }
}

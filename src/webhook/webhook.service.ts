import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomInt } from 'node:crypto';
import { OfficialAccount, requireFields } from 'src/accounts/account';
import { AppException } from 'src/common/errors/app-exception';
import { withDeadline } from 'src/common/with-deadline';
import type { Configuration } from 'src/config/configuration';
import { isDatabaseDownError } from 'src/database/database-errors';
import { Metrics } from 'src/metrics/metrics';
import type { WebhookContext } from 'src/webhook/handlers/message-handler';
import { WebhookPipeline } from 'src/webhook/handlers/webhook-pipeline';
import { inboundRecord, InboundMessageRepository, InboundRecord } from 'src/webhook/inbound-message.repository';
import { WebhookSpool } from 'src/webhook/outage/webhook-spool';
import { MessageCipher, MessageCipherError } from 'src/wechat/crypto/message-cipher';
import { dedupeKey, InboundMessage, InboundMessageError, parseInbound } from 'src/wechat/messages/inbound-message';
import { buildEncryptedEnvelope, buildReply, Reply } from 'src/wechat/messages/reply';
import { parseXml, refuseDeclarations, XmlError } from 'src/wechat/xml/xml.codec';

/** WeChat gives up after 5 s; the answer leaves by this point, whatever is still running. */
export const REPLY_DEADLINE_MS = 4500;
/** Time kept back from the deadline for storing the reply. */
const SETTLE_MARGIN_MS = 300;
/** How often a retry looks for the reply its first delivery is still working on. */
const RETRY_POLL_MS = 50;

export const SUCCESS = 'success';

export interface WebhookQuery {
  timestamp?: string;
  nonce?: string;
  encrypt_type?: string;
}

/** The answer to a delivery, as the fast lane sends it. */
export interface WebhookAnswer {
  readonly status: 200;
  readonly contentType: 'text/plain' | 'application/xml';
  readonly body: string;
}

const SUCCESS_ANSWER: WebhookAnswer = Object.freeze({ status: 200, contentType: 'text/plain', body: SUCCESS });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The webhook's orchestration, after the signature check: decrypt → parse → record once → run the handler pipeline →
 * reply (encrypted in the mode the request came in). Bad input is a 400 that records nothing; after that, failures
 * are logged and answered `success`, so WeChat does not retry into the same failure.
 */
@Injectable()
export class WebhookService {
  private readonly logger = new Logger(WebhookService.name);
  /**
   * Each official account's cipher, made on its first encrypted delivery. The registry makes a new account object
   * when an account changes, so a changed key gets a new cipher and the old one goes with the old object.
   */
  private readonly ciphers = new WeakMap<OfficialAccount, MessageCipher>();
  /** The test hook WEBHOOK_TEST_HOLD_AFTER_CLAIM_MS (0 unless NODE_ENV=test). */
  private readonly holdAfterClaimMs: number;

  constructor(
    private readonly messages: InboundMessageRepository,
    private readonly pipeline: WebhookPipeline,
    private readonly spool: WebhookSpool,
    private readonly metrics: Metrics,
    config: ConfigService<Configuration, true>,
  ) {
    this.holdAfterClaimMs = config.get('webhook', { infer: true }).testHoldAfterClaimMs;
  }

  /**
   * A delivery to `account` whose signature holds. `encrypt` is the `Encrypt` element the signature check found and
   * verified (in encrypted mode); `receivedAt` the time it arrived, from which WeChat's deadline runs.
   */
  async receive(
    account: OfficialAccount,
    query: WebhookQuery,
    body: string | undefined,
    encrypt: string | undefined,
    receivedAt: number,
  ): Promise<WebhookAnswer> {
    const encrypted = query.encrypt_type === 'aes';
    let message: InboundMessage;
    try {
      message = this.read(account, body, encrypted, encrypt);
    } catch (refusal) {
      this.metrics.webhookDelivery('refused');
      throw refusal;
    }
    const deadline = receivedAt + REPLY_DEADLINE_MS;
    let reply: string;
    let late: boolean;
    try {
      const outcome = await withDeadline(
        this.replyOnce(account, message, encrypted, deadline),
        deadline - Date.now(),
        SUCCESS,
      );
      reply = outcome.value;
      late = outcome.late;
    } catch (error) {
      if (!isDatabaseDownError(error)) {
        this.logger.error(
          `Handling ${dedupeKey(message)} from ${message.fromUserName} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        this.metrics.webhookDelivery('success');
        return SUCCESS_ANSWER;
      }
      await this.keepSafe(account, message, encrypted, receivedAt);
      this.logger.warn(`The database is down: ${dedupeKey(message)} from ${message.fromUserName} spooled`);
      this.metrics.webhookDelivery('success');
      return SUCCESS_ANSWER;
    }
    if (late) {
      // Answered `success` with the record maybe not written (a database that hangs): WeChat will not retry, so the
      // message is made safe in the spool first; the replay leaves it alone if the delivery does record it.
      this.metrics.webhookDeadlineFallback();
      await this.keepSafe(account, message, encrypted, receivedAt);
      this.logger.warn(`No reply to ${dedupeKey(message)} from ${message.fromUserName} in time: answered success`);
    }
    if (reply === SUCCESS) {
      this.metrics.webhookDelivery('success');
      return SUCCESS_ANSWER;
    }
    this.metrics.webhookDelivery('reply');
    return { status: 200, contentType: 'application/xml', body: encrypted ? this.seal(account, reply) : reply };
  }

  /**
   * Checks and opens the body; any fault is the sender's: 400, nothing recorded. Each text is searched for
   * declarations once: the plain body by parseXml; in encrypted mode the envelope here (it is never parsed) and the
   * decrypted message by parseXml.
   */
  private read(
    account: OfficialAccount,
    body: string | undefined,
    encrypted: boolean,
    encrypt: string | undefined,
  ): InboundMessage {
    if (body === undefined) {
      throw new AppException(
        415,
        'unsupported_media_type',
        'The webhook takes an XML body sent as text/xml or application/xml.',
      );
    }
    try {
      if (!encrypted) {
        return parseInbound(parseXml(body));
      }
      // DOCTYPE/ENTITY are refused on the envelope too, even though only the decrypted message is parsed.
      refuseDeclarations(body);
      const cipher = this.cipherOf(account);
      if (encrypt === undefined) {
        throw AppException.badRequest('An encrypted request must carry an Encrypt element.');
      }
      return parseInbound(parseXml(cipher.decrypt(encrypt).xml));
    } catch (error) {
      if (error instanceof XmlError) {
        throw AppException.badRequest(`The XML body was refused: ${error.message}.`);
      }
      if (error instanceof MessageCipherError) {
        throw AppException.badRequest(`The encrypted message could not be opened (${error.reason}).`);
      }
      if (error instanceof InboundMessageError) {
        throw AppException.badRequest(`Not a WeChat message: ${error.message}.`);
      }
      throw error;
    }
  }

  /** The account's cipher: its EncodingAESKeys (the current one first) and its appid, which every message names. */
  private cipherOf(account: OfficialAccount): MessageCipher {
    let cipher = this.ciphers.get(account);
    if (!cipher) {
      const { appid } = requireFields(account, 'aesKey', 'appid');
      cipher = new MessageCipher(account.aesKeys, appid);
      this.ciphers.set(account, cipher);
    }
    return cipher;
  }

  /**
   * The outage path: `success` may be answered only once the message is safe, so it goes to the local spool
   * (fsync'd), replayed into PostgreSQL when it answers again. If even that fails, the delivery is refused with a
   * 503, and WeChat tries again.
   */
  private async keepSafe(
    account: OfficialAccount,
    message: InboundMessage,
    encrypted: boolean,
    receivedAt: number,
  ): Promise<void> {
    try {
      await this.spool.append({ appid: account.appid ?? null, fields: message.raw, encrypted, receivedAt });
    } catch (error) {
      this.logger.error(
        `Spooling ${dedupeKey(message)} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw new AppException(503, 'database_unavailable', 'The message could not be recorded; WeChat will retry it.');
    }
  }

  /** The reply of this message: worked out by the first delivery, read back by its retries. */
  private async replyOnce(
    account: OfficialAccount,
    message: InboundMessage,
    encrypted: boolean,
    deadline: number,
  ): Promise<string> {
    const record = inboundRecord(message, encrypted);
    const context: WebhookContext = { account, deadline: deadline - SETTLE_MARGIN_MS };
    if (!this.pipeline.changesState(message, context)) {
      // Nothing changes: work the reply out first and record it with the message in one statement. A retry works it
      // out again, but gets the reply that was recorded.
      const reply = await this.runHandlers(message, context);
      const claim = await this.messages.claim(record, reply);
      if (claim.claimed) {
        return claim.reply ?? SUCCESS;
      }
      this.metrics.webhookRetryAnswered();
      return claim.reply ?? (await this.awaitReply(record, deadline, () => Promise.resolve(reply)));
    }
    const claim = await this.messages.claim(record);
    if (!claim.claimed) {
      this.metrics.webhookRetryAnswered();
      const retake = () => this.runHandlers(message, { ...context, retake: true });
      return claim.reply ?? (await this.awaitReply(record, deadline, retake));
    }
    if (this.holdAfterClaimMs > 0) {
      await sleep(this.holdAfterClaimMs);
    }
    return this.messages.settleReply(record, await this.runHandlers(message, context));
  }

  /**
   * The pipeline's reply XML, or `success` when it has nothing to say, fails, or is not done in time. A reply the
   * pipeline produces after that goes to the late-reply taker (a customer-service message), not to the void.
   */
  private async runHandlers(message: InboundMessage, context: WebhookContext): Promise<string> {
    const work = this.pipeline.run(message, context);
    try {
      const outcome = await withDeadline<Reply | null>(work, context.deadline! - Date.now(), null);
      if (outcome.late) {
        // The pipeline was not done in time: `success` now, its reply (if any) later as a customer-service message.
        this.metrics.webhookDeadlineFallback();
        work
          .then((reply) => (reply ? this.pipeline.deliverLate(reply, message, context) : false))
          .catch((error: unknown) => this.logger.error(`A late handler failed: ${String(error)}`));
      }
      const reply = outcome.value;
      return reply
        ? buildReply(reply, {
            toUserName: message.fromUserName,
            fromUserName: message.toUserName,
            createTime: Math.floor(Date.now() / 1000),
          })
        : SUCCESS;
    } catch (error) {
      if (isDatabaseDownError(error)) {
        // Not `success`: a step that could not write must run again (the outage path keeps the message for that).
        throw error;
      }
      this.logger.error(
        `Handlers failed on ${dedupeKey(message)}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      return SUCCESS;
    }
  }

  /**
   * A delivery that found the message claimed and not replied: wait for the reply, up to the deadline — or, once the
   * claim's lease has run out (its delivery died before settling), take it over: `handle` works the reply out again
   * (the steps are idempotent) and it is settled here.
   */
  private async awaitReply(record: InboundRecord, deadline: number, handle: () => Promise<string>): Promise<string> {
    for (;;) {
      const state = await this.messages.takeOver(record);
      if (state.taken) {
        this.logger.warn(`Took over ${record.dedupeKey} from ${record.fromUserName}: its first delivery is gone`);
        return this.messages.settleReply(record, await handle());
      }
      if (state.reply !== null) {
        return state.reply;
      }
      if (Date.now() + RETRY_POLL_MS >= deadline) {
        return SUCCESS;
      }
      await sleep(RETRY_POLL_MS);
    }
  }

  private seal(account: OfficialAccount, reply: string): string {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = String(randomInt(100_000_000, 999_999_999));
    return buildEncryptedEnvelope(this.cipherOf(account).encryptReply(reply, account.token!, timestamp, nonce));
  }
}

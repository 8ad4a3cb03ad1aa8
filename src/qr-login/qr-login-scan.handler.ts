import { Injectable } from '@nestjs/common';
import { IdentityService } from 'src/identity/identity.service';
import { LOGIN_SCENE_PREFIX, QrLoginService, ScanOutcome } from 'src/qr-login/qr-login.service';
import { MessageHandler, NextHandler, WebhookContext, WebhookStep } from 'src/webhook/handlers/message-handler';
import type { InboundMessage, ScanEvent, SubscribeEvent } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

type LoginScan = ScanEvent | SubscribeEvent;

/** The scene of a login QR code the message carries, or undefined for any other message. */
export function loginSceneOf(message: InboundMessage): string | undefined {
  if (message.kind !== 'event') {
    return undefined;
  }
  const scene = message.event === 'SCAN' ? message.eventKey : message.event === 'subscribe' ? message.scene : undefined;
  return scene?.startsWith(LOGIN_SCENE_PREFIX) ? scene : undefined;
}

function replyText(outcome: ScanOutcome): string {
  switch (outcome.kind) {
    case 'scanned':
    case 'rescanned':
      return `你正在电脑上登录，请点击 <a href="${outcome.confirmUrl}">确认登录</a>。如果不是你本人操作，请忽略。`;
    case 'confirmed':
      return '已登录，请回到电脑上继续。';
    case 'expired':
      return '二维码已过期，请在电脑上刷新二维码后重新扫码。';
    case 'used':
      return '这个二维码已经使用过了，请在电脑上刷新二维码后重新扫码。';
    case 'unknown':
      return '这个登录二维码无效，请在电脑上刷新二维码后重新扫码。';
  }
}

/**
 * Scan-to-login's webhook step: a `SCAN` of a login QR code, or a `subscribe` by scanning one (`qrscene_login_…`),
 * moves its attempt to scanned and answers with the confirmation link. It sees these before the webhook's own
 * subscribe step (order 100) and answers them itself, recording the follower as that step does. It changes state, so
 * the webhook claims the message first: WeChat's retries are answered from the record and never scan twice.
 */
@Injectable()
@WebhookStep({ order: 50, mutates: true })
export class QrLoginScanHandler implements MessageHandler<LoginScan> {
  constructor(
    private readonly qrLogin: QrLoginService,
    private readonly identities: IdentityService,
  ) {}

  accepts(message: InboundMessage): message is LoginScan {
    return loginSceneOf(message) !== undefined;
  }

  async handle(message: LoginScan, _next: NextHandler, { account }: WebhookContext): Promise<Reply> {
    const scene = loginSceneOf(message)!;
    const follow = message.event === 'subscribe';
    if (!account.appid) {
      // Without an appid there is neither an attempt of this account nor a follower to record.
      return { type: 'text', content: replyText({ kind: 'unknown' }) };
    }
    await this.identities.linkOrCreate({
      appid: account.appid,
      openid: message.fromUserName,
      source: 'official_account',
      subscribed: true,
    });
    const text = replyText(await this.qrLogin.scan(account.appid, scene, message.fromUserName));
    return { type: 'text', content: follow ? `${account.welcomeText}\n${text}` : text };
  }
}

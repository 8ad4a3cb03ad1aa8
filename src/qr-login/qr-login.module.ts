import { RetentionModule } from 'src/retention/retention.module';
import { Module } from '@nestjs/common';
import { IdentityModule } from 'src/identity/identity.module';
import { QrLoginEvents } from 'src/qr-login/qr-login-events';
import { QrLoginScanHandler } from 'src/qr-login/qr-login-scan.handler';
import { QrLoginController } from 'src/qr-login/qr-login.controller';
import { QrLoginRepository } from 'src/qr-login/qr-login.repository';
import { QrLoginRetention } from 'src/qr-login/qr-login.retention';
import { QrLoginService } from 'src/qr-login/qr-login.service';
import { QrCodeClient } from 'src/qr-login/qrcode.client';
import { TokenModule } from 'src/token/token.module';

/**
 * PC scan-to-login through the official account (扫码登录): the desktop's attempts, QR codes and event streams, the
 * phone's confirmation page, and the webhook step that takes the scan (found by the webhook at start-up through
 * `@WebhookStep`; the webhook module does not import this one).
 */
@Module({
  imports: [TokenModule, IdentityModule, RetentionModule],
  controllers: [QrLoginController],
  providers: [QrLoginService, QrLoginRepository, QrLoginEvents, QrCodeClient, QrLoginScanHandler, QrLoginRetention],
  exports: [QrLoginService, QrLoginRepository],
})
export class QrLoginModule {}

import { Module } from '@nestjs/common';
import { SecretSealer } from 'src/common/sealing/secret-sealer';
import { AccessTokenHttpClient } from 'src/token/access-token-http.client';
import { AccessTokenRepository } from 'src/token/access-token.repository';
import { CredentialStore } from 'src/token/credential-store';
import { StableTokenClient } from 'src/token/stable-token.client';
import { TicketAdminController } from 'src/token/ticket-admin.controller';
import { TicketClient } from 'src/token/ticket.client';
import { TicketService } from 'src/token/ticket.service';
import { TokenAdminController } from 'src/token/token-admin.controller';
import { TokenService } from 'src/token/token.service';
import { WeChatModule } from 'src/wechat/wechat.module';

@Module({
  imports: [WeChatModule],
  controllers: [TokenAdminController, TicketAdminController],
  providers: [
    CredentialStore,
    TokenService,
    TicketService,
    TicketClient,
    AccessTokenHttpClient,
    AccessTokenRepository,
    StableTokenClient,
    SecretSealer,
  ],
  // Token-bearing calls go through AccessTokenHttpClient; the token itself is handed out by the admin route only.
  // Tickets are for the JS-SDK signature (JssdkModule) and the admin route.
  exports: [AccessTokenHttpClient, TicketService],
})
export class TokenModule {}

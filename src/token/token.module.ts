import { Module } from '@nestjs/common';
import { SecretSealer } from 'src/common/sealing/secret-sealer';
import { AccessTokenHttpClient } from 'src/token/access-token-http.client';
import { AccessTokenRepository } from 'src/token/access-token.repository';
import { StableTokenClient } from 'src/token/stable-token.client';
import { TokenAdminController } from 'src/token/token-admin.controller';
import { TokenService } from 'src/token/token.service';
import { WeChatModule } from 'src/wechat/wechat.module';

@Module({
  imports: [WeChatModule],
  controllers: [TokenAdminController],
  providers: [TokenService, AccessTokenHttpClient, AccessTokenRepository, StableTokenClient, SecretSealer],
  // Token-bearing calls go through AccessTokenHttpClient; the token itself is handed out by the admin route only.
  exports: [AccessTokenHttpClient],
})
export class TokenModule {}

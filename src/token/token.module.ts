import { Module } from '@nestjs/common';
import { SecretSealer } from 'src/common/sealing/secret-sealer';
import { AccessTokenRepository } from 'src/token/access-token.repository';
import { StableTokenClient } from 'src/token/stable-token.client';
import { TokenAdminController } from 'src/token/token-admin.controller';
import { TokenService } from 'src/token/token.service';
import { WeChatModule } from 'src/wechat/wechat.module';

@Module({
  imports: [WeChatModule],
  controllers: [TokenAdminController],
  providers: [TokenService, AccessTokenRepository, StableTokenClient, SecretSealer],
  exports: [TokenService],
})
export class TokenModule {}

import { Module } from '@nestjs/common';
import { SecretSealer } from 'src/common/sealing/secret-sealer';
import { IdentityModule } from 'src/identity/identity.module';
import { HomeController } from 'src/oauth/home.controller';
import { OAuthStateRepository } from 'src/oauth/oauth-state.repository';
import { OAuthStateRetention } from 'src/oauth/oauth-state.retention';
import { OAuthController } from 'src/oauth/oauth.controller';
import { OAuthService } from 'src/oauth/oauth.service';
import { WeChatOAuthClient } from 'src/oauth/wechat-oauth.client';
import { RetentionModule } from 'src/retention/retention.module';
import { WeChatModule } from 'src/wechat/wechat.module';

/** Web authorization in the WeChat browser (网页授权): login, account binding, profile refresh, the pages. */
@Module({
  imports: [WeChatModule, IdentityModule, RetentionModule],
  controllers: [OAuthController, HomeController],
  providers: [OAuthService, WeChatOAuthClient, OAuthStateRepository, OAuthStateRetention, SecretSealer],
  exports: [OAuthService],
})
export class OAuthModule {}

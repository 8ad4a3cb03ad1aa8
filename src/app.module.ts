import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { HttpPlatformModule } from 'src/common/http/http-platform.module';
import { validateAndBuild } from 'src/config/configuration';
import { DatabaseModule } from 'src/database/database.module';
import { HealthModule } from 'src/health/health.module';
import { AccountsModule } from 'src/accounts/accounts.module';
import { IdentityModule } from 'src/identity/identity.module';
import { JssdkModule } from 'src/jssdk/jssdk.module';
import { LoggingModule } from 'src/logging/logging.module';
import { MessagingModule } from 'src/messaging/messaging.module';
import { MetricsModule } from 'src/metrics/metrics.module';
import { MiniProgramModule } from 'src/mini-program/mini-program.module';
import { OAuthModule } from 'src/oauth/oauth.module';
import { QrLoginModule } from 'src/qr-login/qr-login.module';
import { RateLimitModule } from 'src/rate-limit/rate-limit.module';
import { TokenModule } from 'src/token/token.module';
import { WebhookModule } from 'src/webhook/webhook.module';

export interface AppModuleOptions {
  /** Variables laid over the process environment (tests start several differently configured apps at once). */
  env?: Record<string, string | undefined>;
  /** Skip reading `.env` (tests must not depend on a developer's file). */
  ignoreEnvFile?: boolean;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: options.ignoreEnvFile,
          validate: (raw) => validateAndBuild({ ...raw, ...options.env }),
        }),
        LoggingModule,
        HttpPlatformModule,
        DatabaseModule,
        MetricsModule,
        RateLimitModule,
        AccountsModule,
        HealthModule,
        IdentityModule,
        TokenModule,
        MiniProgramModule,
        WebhookModule,
        OAuthModule,
        JssdkModule,
        QrLoginModule,
        MessagingModule,
      ],
    };
  }
}

import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Configuration } from 'src/config/configuration';
import { AppLogger } from 'src/logging/app-logger';
import { createRootLogger } from 'src/logging/logger.options';

/** The application's logger (pino at LOG_LEVEL); main.ts and the tests install it with `app.useLogger`. */
@Module({
  providers: [
    {
      provide: AppLogger,
      inject: [ConfigService],
      useFactory: (config: ConfigService<Configuration, true>) =>
        new AppLogger(createRootLogger(config.get('app', { infer: true }).logLevel)),
    },
  ],
  exports: [AppLogger],
})
export class LoggingModule {}

import { Module } from '@nestjs/common';
import { AppLogger } from 'src/logging/app-logger';

/** The application's logger (pino); main.ts and the tests install it with `app.useLogger`. */
@Module({
  providers: [AppLogger],
  exports: [AppLogger],
})
export class LoggingModule {}

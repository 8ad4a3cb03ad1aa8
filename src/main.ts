import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigService } from '@nestjs/config';
import { Logger } from 'nestjs-pino';
import { AppModule } from 'src/app.module';
import { configureApp } from 'src/app.setup';
import type { Configuration } from 'src/config/configuration';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(), {
    bufferLogs: true,
    bodyParser: false,
  });
  configureApp(app);
  const logger = app.get(Logger);
  const config = app.get<ConfigService<Configuration, true>>(ConfigService);
  const { port, usingDevelopmentKey, publicBaseUrl } = config.get('app', { infer: true });
  if (usingDevelopmentKey) {
    logger.warn('DATA_ENCRYPTION_KEY is unset: secrets at rest are sealed with a fixed development key.');
  }
  // SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the database, exit 0.
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) {
      return;
    }
    closing = true;
    logger.log(`${signal} received: finishing in-flight requests`);
    app
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error(`Shutdown failed: ${String(error)}`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await app.listen(port);
  logger.log(`Listening on port ${port} (public address ${publicBaseUrl}); API docs at /docs`);
}

bootstrap().catch((error: unknown) => {
  // One clear line (a bad variable, an unreachable database), no stack trace for configuration errors.
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Start-up failed: ${message}\n`);
  process.exit(1);
});

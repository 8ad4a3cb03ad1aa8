import 'reflect-metadata';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigService } from '@nestjs/config';
import { AppModule } from 'src/app.module';
import { configureApp, createHttpAdapter } from 'src/app.setup';
import type { Configuration } from 'src/config/configuration';
import { validate } from 'src/config/env.validation';
import { isDatabaseDownError } from 'src/database/database-errors';
import { AppLogger } from 'src/logging/app-logger';
import { flushLogs } from 'src/logging/logger.options';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) {
    process.loadEnvFile('.env');
  }
  // Fail fast, before Nest starts, with one line naming the bad variable.
  validate(process.env);
  // Nest's own logger stays silent until pino takes over: a failed start-up prints only the one line below.
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(), createHttpAdapter(), {
    logger: false,
    bodyParser: false,
    abortOnError: false,
  });
  await configureApp(app);
  const logger = app.get(AppLogger);
  const config = app.get<ConfigService<Configuration, true>>(ConfigService);
  const { port, host, usingDevelopmentKey, publicBaseUrl } = config.get('app', { infer: true });
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
    // Keep-alive sockets that fall idle after their last response are closed at once rather than on time-out.
    const server = app.getHttpServer() as Server;
    setInterval(() => server.closeIdleConnections(), 100).unref();
    app
      .close()
      .then(() => {
        flushLogs();
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error(`Shutdown failed: ${String(error)}`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // HOST when set; else every interface, as Express's listen(port) did (Fastify alone binds only to localhost):
  // IPv6 with IPv4 mapped, or IPv4 alone on a host without IPv6.
  const listening =
    host !== undefined
      ? app.listen(port, host)
      : app.listen(port, '::').catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EAFNOSUPPORT' && error.code !== 'EADDRNOTAVAIL') {
            throw error;
          }
          return app.listen(port, '0.0.0.0');
        });
  const address = `${host ?? 'every interface'}, port ${port}`;
  await listening.catch((error: NodeJS.ErrnoException) => {
    // Name the variable to fix: the bare errno did not, and an unknown host name's ENOTFOUND read as the database's.
    const variable = error.code === 'EADDRINUSE' || error.code === 'EACCES' ? 'PORT' : 'HOST';
    throw new Error(`cannot listen on ${address} (${error.message}); check ${variable}`);
  });
  logger.log(`Listening on ${address} (public address ${publicBaseUrl}); API docs at /docs`);
}

bootstrap().catch((error: unknown) => {
  // One clear line (a bad variable, an unreachable database), no stack trace for configuration errors.
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  const message = isDatabaseDownError(error) ? `cannot reach the database (${detail}); check DATABASE_URL` : detail;
  process.stderr.write(`Start-up failed: ${message}\n`);
  process.exit(1);
});

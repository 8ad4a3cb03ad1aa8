import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Configuration } from 'src/config/configuration';
import { buildDataSourceOptions } from 'src/database/database.options';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<Configuration, true>) => ({
        ...buildDataSourceOptions(config.get('database', { infer: true })),
        // Fail start-up at once rather than retrying for half a minute when the database is unreachable.
        retryAttempts: 0,
      }),
    }),
  ],
})
export class DatabaseModule {}

import 'reflect-metadata';
import { existsSync } from 'node:fs';
import type { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { resealAll } from 'src/common/sealing/reseal';
import { SecretSealer } from 'src/common/sealing/secret-sealer';
import { buildConfiguration, Configuration } from 'src/config/configuration';
import { validate } from 'src/config/env.validation';
import { buildDataSourceOptions } from 'src/database/database.options';

/**
 * `npm run reseal`: after a key rotation (DATA_ENCRYPTION_KEY the new key, DATA_ENCRYPTION_KEY_PREVIOUS the old
 * one), re-seals every value still sealed with the old key, in batches. Reads `.env` as the service does; safe to
 * run while the service is up, and again (a second run finds nothing to do). Then DATA_ENCRYPTION_KEY_PREVIOUS can go.
 */
async function main(): Promise<void> {
  if (existsSync('.env')) {
    process.loadEnvFile('.env');
  }
  const configuration = buildConfiguration(validate(process.env));
  if (!configuration.app.dataEncryptionKeyPrevious) {
    process.stdout.write('DATA_ENCRYPTION_KEY_PREVIOUS is unset: values are re-sealed only if sealed with it.\n');
  }
  const sealer = new SecretSealer({ get: () => configuration.app } as unknown as ConfigService<Configuration, true>);
  const dataSource = await new DataSource({
    ...buildDataSourceOptions(configuration.database, { statementTimeoutMs: 0 }),
    logging: false,
  }).initialize();
  try {
    const report = await resealAll(
      <T>(sql: string, params: unknown[]) => dataSource.query<T[]>(sql, params),
      sealer,
      (table, column, key) => process.stdout.write(`cannot open ${table}.${column} of ${key} with either key\n`),
    );
    for (const name of Object.keys(report.resealed)) {
      process.stdout.write(`${name}: ${report.resealed[name]} re-sealed, ${report.unreadable[name]} unreadable\n`);
    }
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`Reseal failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { buildConfiguration } from 'src/config/configuration';
import { validate } from 'src/config/env.validation';
import { buildDataSourceOptions } from 'src/database/database.options';

// The CLI reads `.env` as the service does (variables already set win), so it migrates the database the service uses.
if (existsSync('.env')) {
  process.loadEnvFile('.env');
}

/**
 * For the typeorm CLI: `npm run migration:run`, `migration:revert`, `migration:generate`. Without statement_timeout:
 * a migration may take longer than a request's statement.
 */
export default new DataSource(
  buildDataSourceOptions(buildConfiguration(validate(process.env)).database, { statementTimeoutMs: 0 }),
);

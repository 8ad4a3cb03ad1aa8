import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildConfiguration } from 'src/config/configuration';
import { validate } from 'src/config/env.validation';
import { buildDataSourceOptions } from 'src/database/database.options';

/** For the typeorm CLI: `npm run migration:run`, `migration:revert`, `migration:generate`. */
export default new DataSource(buildDataSourceOptions(buildConfiguration(validate(process.env)).database));

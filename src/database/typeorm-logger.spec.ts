import { Logger } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { TypeOrmLogger } from 'src/database/typeorm-logger';

const runnerOf = (logging: unknown) => ({ connection: { options: { logging } } }) as unknown as QueryRunner;

describe(TypeOrmLogger.name, () => {
  let warn: jest.SpyInstance;
  const sut = new TypeOrmLogger();

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    warn.mockRestore();
  });

  it.each([[true], ['all'], [['error', 'warn', 'migration']]])(
    'should log a failed statement, without its parameters, when logging is %j',
    (logging) => {
      sut.logQueryError('duplicate key', 'INSERT INTO t (a)\n  VALUES ($1)', ['a-secret'], runnerOf(logging));
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith('Statement failed: duplicate key (INSERT INTO t (a) VALUES ($1))');
    },
  );

  it.each([[false], [['warn', 'migration']]])('should not log a failed statement when logging is %j', (logging) => {
    sut.logQueryError('duplicate key', 'INSERT INTO t (a) VALUES ($1)', ['a-secret'], runnerOf(logging));
    expect(warn).not.toHaveBeenCalled();
  });

  it("should log the pool's warnings, which come without a query runner, and not when logging is false", () => {
    sut.log('warn', 'Connection terminated unexpectedly');
    sut.log('warn', 'an idle client ended', runnerOf(false));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith('Connection terminated unexpectedly');
  });
});

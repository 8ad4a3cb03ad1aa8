const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH']);

/** True for errors that mean "the database cannot be reached", which the API answers with 503. */
export function isDatabaseDownError(error: unknown): boolean {
  if (!error || typeof error !== 'object') {
    return false;
  }
  const candidate = error as { code?: unknown; message?: unknown; driverError?: unknown };
  const code = typeof candidate.code === 'string' ? candidate.code : '';
  // SQLSTATE class 08 (connection exception) and 57 (operator intervention: shutdown, crash recovery, and 57014, a
  // statement cancelled by statement_timeout: the database is too busy or locked to answer in time).
  if (CONNECTION_CODES.has(code) || /^(08|57P|57014)/.test(code)) {
    return true;
  }
  const message = typeof candidate.message === 'string' ? candidate.message : '';
  if (
    /Connection terminated|timeout exceeded when trying to connect|Driver not Connected|Client has encountered a connection error|Cannot use a pool after calling end|database system is (shutting down|starting up)|is not currently accepting connections/i.test(
      message,
    )
  ) {
    return true;
  }
  return candidate.driverError !== undefined && candidate.driverError !== error
    ? isDatabaseDownError(candidate.driverError)
    : false;
}

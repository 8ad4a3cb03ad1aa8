import pino, { type Logger } from 'pino';

/**
 * Logs go to stdout asynchronously: a slow reader of the pipe (a log shipper) must not stall request handling.
 * `flushLogs()` writes out what is pending before the process exits.
 */
const logDestination = pino.destination({ dest: 1, sync: false });

/** The process's pino logger at `level` (LOG_LEVEL): JSON lines with time, pid and hostname. */
export function createRootLogger(level: string): Logger {
  return pino({ level }, logDestination);
}

export function flushLogs(): void {
  try {
    logDestination.flushSync();
  } catch {
    // Nothing was written yet (the stream is not open): nothing to flush.
  }
}

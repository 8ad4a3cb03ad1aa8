import pino, { type DestinationStream, type Logger } from 'pino';

/** How long a log line may wait in the buffer before it is written. */
const FLUSH_EVERY_MS = 200;

/**
 * Logs go to stdout asynchronously (a slow reader of the pipe, a log shipper, must not stall request handling) and
 * in blocks: lines gather up to 4 KiB, or for at most FLUSH_EVERY_MS, before one write — a write per line was a
 * system call per request, several percent of a busy instance's CPU. `flushLogs()` writes out what is pending before
 * the process exits.
 */
const sonic = pino.destination({ dest: 1, sync: false, minLength: 4096 });
let unwritten = false;
const logDestination: DestinationStream = {
  write(line: string): void {
    unwritten = true;
    sonic.write(line);
  },
};
setInterval(() => {
  if (unwritten) {
    unwritten = false;
    sonic.flush();
  }
}, FLUSH_EVERY_MS).unref();

/** The process's pino logger at `level` (LOG_LEVEL): JSON lines with time, pid and hostname. */
export function createRootLogger(level: string): Logger {
  return pino({ level }, logDestination);
}

export function flushLogs(): void {
  try {
    sonic.flushSync();
  } catch {
    // Nothing was written yet (the stream is not open): nothing to flush.
  }
}

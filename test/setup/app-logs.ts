import type { INestApplication } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { symbols } from 'pino';

/**
 * The log lines of the apps a test runs in its own process (startApp), held back while a test
 * provokes failures on purpose and printed only if that test fails.
 *
 * Every in-process app writes through two pino loggers: the root one of its request lines and
 * the lines written during a request (`PinoLogger.root`, replaced by each new app) and the
 * process-wide one of the lines written outside a request. Their destinations are wrapped once:
 * the wrapper passes each line on, or keeps it while `withLogsShownOnFailure` holds them.
 */

type Destination = { write(line: string): unknown };

const wrapped = new WeakSet<Destination>();
let held: string[] | null = null;

function wrap(logger: unknown): void {
  const destination = (logger as Record<symbol, Destination>)[symbols.streamSym];
  if (wrapped.has(destination)) return;
  wrapped.add(destination);
  const write = destination.write.bind(destination);
  destination.write = (line: string) => {
    if (!held) return write(line);
    held.push(line);
    return true;
  };
}

/** startApp calls this once the app is built (its root logger is the current `PinoLogger.root`). */
export async function trackAppLogs(app: INestApplication): Promise<void> {
  wrap(PinoLogger.root);
  // Outside a request a PinoLogger writes through the process-wide logger.
  wrap((await app.resolve(PinoLogger)).logger);
}

/**
 * For a test that makes the app fail on purpose (a forged or mismatched notification, a cut
 * database, a thrown 'boom'): the error lines the in-process apps write meanwhile are expected.
 * They are kept while `body` runs and printed to stderr only if it throws, so a passing run prints
 * none of them and a failing one still shows everything the apps said.
 */
export async function withLogsShownOnFailure<T>(body: () => Promise<T>): Promise<T> {
  if (held) return body(); // already inside one
  const lines: string[] = [];
  held = lines;
  try {
    const result = await body();
    // A request's own line is written when its response finishes, which may be after the client has read it.
    await new Promise((r) => setImmediate(r));
    return result;
  } catch (err) {
    process.stderr.write(`\n--- app log lines held during the failed test (${lines.length}) ---\n${lines.join('')}--- end ---\n`);
    throw err;
  } finally {
    held = null;
  }
}

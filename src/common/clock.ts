/**
 * Time source of every business rule (orders, tokens, QR expiry, timestamps). Injected so tests
 * can move it; values are truncated to whole seconds because TIMESTAMP columns store seconds and
 * MySQL would round a fraction while MariaDB truncates it.
 */
export abstract class Clock {
  abstract nowMs(): number;

  now(): Date {
    return new Date(Math.floor(this.nowMs() / 1000) * 1000);
  }

  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }
}

/** The system time. The sandbox, when mounted, provides its own clock that can travel (CommonModule.forRoot). */
export class SystemClock extends Clock {
  nowMs(): number {
    return Date.now();
  }
}

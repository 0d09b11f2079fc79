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

export class SystemClock extends Clock {
  private offsetMs = 0;

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  /** Only the sandbox's test knob calls this (never mounted in production). */
  shift(ms: number): void {
    this.offsetMs += ms;
  }
}

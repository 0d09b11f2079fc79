import { ServiceUnavailableError } from '../common/errors';
import type { CallOptions } from '../internal/internal-api';

/** The callback's budget ran out: answered 503 at once, never retried. */
export class BudgetExhaustedError extends ServiceUnavailableError {
  constructor() {
    super(new Error('callback budget for internal calls exhausted'));
  }
}

/** Retries of a call that failed transiently, with jittered exponential pauses (concurrent losers must not collide again). */
const MAX_RETRIES = 4;
const RETRY_BASE_MS = 20;
/** Not worth another attempt with less than this left. */
const MIN_RETRY_BUDGET_MS = 200;

/**
 * The one budget a callback has for all its internal calls, retries included (docs/callbacks.md): a
 * deadline fixed when the request arrives; every call gets what is left. The HTTP adapter honours
 * the deadline itself; the race here also bounds the local adapter, which ignores it, so WeChat
 * hears 503 in time to retry instead of timing out on us (it gives up after 5 s).
 *
 * Every InternalApi operation is idempotent (docs/internal.md), so a call that failed because the
 * database or app server was briefly unavailable is tried again while budget is left. (Deadlock
 * victims are retried where they happen, by DatabaseService.transaction.)
 *
 * Wall-clock time on purpose (not the injectable business Clock): the HTTP adapter compares the
 * deadline with Date.now() too.
 */
export class CallbackBudget {
  readonly deadline: number;

  constructor(timeoutMs: number, startedAt = Date.now()) {
    this.deadline = startedAt + timeoutMs;
  }

  remainingMs(): number {
    return this.deadline - Date.now();
  }

  /** Runs one idempotent internal call within what is left; running out → BudgetExhaustedError. */
  async run<T>(call: (opts: CallOptions) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(call);
      } catch (err) {
        const pause = Math.round(RETRY_BASE_MS * 2 ** attempt * (1 + 2 * Math.random()));
        if (attempt >= MAX_RETRIES || !isTransient(err) || this.remainingMs() < pause + MIN_RETRY_BUDGET_MS) throw err;
        await new Promise((r) => setTimeout(r, pause));
      }
    }
  }

  private async once<T>(call: (opts: CallOptions) => Promise<T>): Promise<T> {
    const remaining = this.remainingMs();
    if (remaining <= 0) throw new BudgetExhaustedError();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BudgetExhaustedError()), remaining);
    });
    try {
      // A call that settles after the timeout is still observed by the race: no unhandled rejection.
      return await Promise.race([call({ deadline: this.deadline }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Worth another attempt: unavailability (not our own timeout). Never a 4xx, never a bug. */
function isTransient(err: unknown): boolean {
  return err instanceof ServiceUnavailableError && !(err instanceof BudgetExhaustedError);
}

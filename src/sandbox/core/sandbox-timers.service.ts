import { Injectable, OnModuleDestroy } from '@nestjs/common';

/**
 * Every timer and outgoing request of the sandbox goes through here: timers are unref'd (they never
 * keep a process alive), and all of them are cancelled on module destroy and on `POST /sandbox/reset`.
 */
@Injectable()
export class SandboxTimers implements OnModuleDestroy {
  private readonly cancellers = new Set<() => void>();
  private closed = false;

  /** Resolves true after `ms`, or false as soon as the sandbox cancels its work. */
  delay(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const cancel = () => {
        clearTimeout(timer);
        this.cancellers.delete(cancel);
        resolve(false);
      };
      const timer = setTimeout(
        () => {
          this.cancellers.delete(cancel);
          resolve(true);
        },
        Math.max(0, ms),
      );
      timer.unref();
      this.cancellers.add(cancel);
    });
  }

  /** An AbortSignal that fires when the sandbox cancels its work; call `release` when done. */
  abortable(): { signal: AbortSignal; release: () => void } {
    const controller = new AbortController();
    if (this.closed) controller.abort();
    const cancel = () => {
      this.cancellers.delete(cancel);
      controller.abort();
    };
    this.cancellers.add(cancel);
    return { signal: controller.signal, release: () => this.cancellers.delete(cancel) };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  cancelAll(): void {
    for (const cancel of [...this.cancellers]) cancel();
  }

  onModuleDestroy(): void {
    this.closed = true;
    this.cancelAll();
  }
}

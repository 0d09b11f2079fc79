/**
 * A FIFO queue that runs one unit of work at a time. SQLite (better-sqlite3) shares one
 * connection, so two interleaved transactions would nest or roll back each other's work.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

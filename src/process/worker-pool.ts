import cluster, { Worker } from 'node:cluster';

/** A new worker that has not listened after this long counts as failed (its start waits on MySQL at most this long). */
const START_TIMEOUT_MS = 60_000;

type Started = { ok: true } | { ok: false; reason: string };

/**
 * The cluster primary's workers (WORKERS > 1): keeps `size` of them running, and on `reload()`
 * replaces them with the code now on disk without ever closing the listening socket
 * (docs/deploy.md "Restart and reload").
 *
 * A reload starts the new workers one at a time, each listening before the next starts; only
 * when all of them listen are the old ones told to stop (SIGTERM: finish in-flight requests), one
 * at a time. The socket is the primary's and is shared by every worker, old and new, so it never
 * closes. A new worker that exits or does not listen in time (a bad build) makes the primary stop
 * the new ones it started and keep the old ones: the reload is refused as a whole, never
 * half-done, in one log line.
 */
export class WorkerPool {
  /** Workers whose exit is expected (retired, or new ones of a refused reload): not replaced. */
  private readonly expectedExits = new Set<number>();
  /** New workers of a reload that have not listened yet: their exit fails the reload instead. */
  private readonly onProbation = new Set<number>();
  /** Workers listening now; `everListened`: the shared listening handle was opened at least once. */
  private readonly listeningIds = new Set<number>();
  private everListened = false;
  private stopping = false;
  private reloading = false;

  constructor(
    private readonly size: number,
    private readonly workerEnv: Record<string, string>,
    private readonly graceMs: number,
    /**
     * Called instead of starting another worker when the last listening one died: node's cluster
     * closes the shared listening handle with its last worker, which an inherited socket (fd 3)
     * cannot survive (a new worker's listen fails); the service must be restarted with it.
     */
    private readonly onAllLost?: () => void,
  ) {}

  start(): void {
    cluster.on('listening', (worker) => {
      this.listeningIds.add(worker.id);
      this.everListened = true;
    });
    cluster.on('exit', (worker, code, signal) => {
      this.listeningIds.delete(worker.id);
      if (this.expectedExits.delete(worker.id) || this.onProbation.has(worker.id) || this.stopping) return;
      // No worker listens any more: node has closed the shared handle (and with it fd 3).
      if (this.onAllLost && this.everListened && this.listeningIds.size === 0) return this.onAllLost();
      console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
      this.fork();
    });
    for (let i = 0; i < this.size; i++) this.fork();
  }

  /** Workers serving now (not being retired). */
  serving(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => !!w && !this.expectedExits.has(w.id) && !this.onProbation.has(w.id),
    );
  }

  async reload(): Promise<void> {
    if (this.stopping) return;
    if (this.reloading) {
      console.error('reload already in progress: this SIGHUP is ignored');
      return;
    }
    this.reloading = true;
    const old = this.serving();
    const fresh: Worker[] = [];
    try {
      for (let i = 0; i < this.size; i++) {
        const w = this.fork();
        this.onProbation.add(w.id);
        const started = await this.listening(w);
        this.onProbation.delete(w.id);
        if (!started.ok) {
          this.expectedExits.add(w.id);
          if (!w.isDead()) w.process.kill('SIGKILL');
          await Promise.all(fresh.map((f) => this.retire(f)));
          console.error(
            `reload refused: new worker ${w.process.pid} ${started.reason}; the ${old.length} running workers keep serving the previous code`,
          );
          return;
        }
        fresh.push(w);
        if (this.stopping) return;
      }
      for (const w of old) {
        if (this.stopping) return;
        await this.retire(w);
      }
      console.log(
        `reload done: workers ${old.map((w) => w.process.pid).join(',')} replaced by ${fresh.map((w) => w.process.pid).join(',')}`,
      );
    } finally {
      this.reloading = false;
    }
  }

  /** SIGTERM to every worker once; resolves when none is left (or after the grace period). */
  stop(): Promise<void> {
    this.stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    for (const w of workers) w.process.kill('SIGTERM');
    return Promise.race([Promise.all(workers.map((w) => exited(w))).then(() => undefined), sleep(this.graceMs + 1000)]);
  }

  private fork(): Worker {
    return cluster.fork(this.workerEnv);
  }

  /** SIGTERM (finish in-flight requests, exit) and wait for the exit; SIGKILL past the grace period. */
  private async retire(w: Worker): Promise<void> {
    this.expectedExits.add(w.id);
    if (w.isDead()) return;
    w.process.kill('SIGTERM');
    const timer = setTimeout(() => w.process.kill('SIGKILL'), this.graceMs + 1000);
    await exited(w);
    clearTimeout(timer);
  }

  private listening(w: Worker): Promise<Started> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done({ ok: false, reason: `did not listen within ${START_TIMEOUT_MS / 1000} s` }), START_TIMEOUT_MS);
      const onListening = () => done({ ok: true });
      const onExit = (code: number | null, signal: string | null) =>
        done({ ok: false, reason: `exited (${signal ?? code}) before listening` });
      const done = (r: Started) => {
        clearTimeout(timer);
        w.off('listening', onListening);
        w.off('exit', onExit);
        resolve(r);
      };
      w.once('listening', onListening);
      w.once('exit', onExit);
    });
  }
}

function exited(w: Worker): Promise<void> {
  return w.isDead() ? Promise.resolve() : new Promise((r) => w.once('exit', () => r()));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

import { Logger } from '@nestjs/common';
import type { Clock } from '../common/clock';
import type { DatabaseService } from './database.service';
import { execute, insertIgnore } from './sql';

const logger = new Logger('JobRuns');

/**
 * Records the last run of a background job in `job_runs` (shown in the operator console, "Jobs"):
 * when it started and finished, `ok` or `failed`, and a short detail. Recording never fails the
 * job: a database that cannot take the row is only a warning.
 */
export async function trackJobRun<T>(
  db: DatabaseService,
  clock: Clock,
  name: string,
  work: () => Promise<T>,
  describe: (r: T) => string,
): Promise<T> {
  const startedAt = clock.now();
  try {
    const result = await work();
    await save(db, name, startedAt, clock.now(), 'ok', describe(result));
    return result;
  } catch (err) {
    await save(db, name, startedAt, clock.now(), 'failed', (err as Error).message);
    throw err;
  }
}

async function save(db: DatabaseService, name: string, startedAt: Date, finishedAt: Date, outcome: string, detail: string): Promise<void> {
  if (!db.isReady) return;
  const values = [startedAt, finishedAt, outcome, detail.slice(0, 500)];
  try {
    await db.run(async (em) => {
      const updated = await execute(em, 'UPDATE job_runs SET started_at = ?, finished_at = ?, outcome = ?, detail = ? WHERE name = ?', [
        ...values,
        name,
      ]);
      if (updated.affected === 0) {
        await execute(em, `${insertIgnore(em)} job_runs (name, started_at, finished_at, outcome, detail) VALUES (?, ?, ?, ?, ?)`, [
          name,
          ...values,
        ]);
      }
    });
  } catch (err) {
    logger.warn(`could not record the run of ${name}: ${(err as Error).message}`);
  }
}

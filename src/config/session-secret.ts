import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from './config-error';

/** The shortest secret accepted from the file (a generated one is 64 hex characters). */
const MIN_CHARS = 32;

/**
 * The session secret kept in `file` (`<DATA_DIR>/session-secret`, mode 0600), generated the first
 * time. Processes starting together agree on one secret without waiting for each other: a new
 * secret is written whole to a private temporary file, then published by `link`, which creates the
 * name only if nobody has (EEXIST: another process won, and its file is already complete). So a
 * reader never sees a partly written secret.
 */
export function readOrCreateSecret(file: string): string {
  if (!existsSync(file)) publishNewSecret(file);
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < MIN_CHARS) throw new ConfigError('SESSION_SECRET', `could not be read from ${file}`);
  return secret;
}

function publishNewSecret(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}`);
  writeFileSync(tmp, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'dotenv';

/**
 * The process environment merged over `.env` in the working directory (a variable set in the
 * real environment wins). The only place that reads process.env.
 */
export function readEnvironment(cwd = process.cwd(), envFile = '.env'): Record<string, string | undefined> {
  const file = resolve(cwd, envFile);
  const fromFile = existsSync(file) ? parse(readFileSync(file)) : {};
  return { ...fromFile, ...process.env };
}

/** For `npm run start:prod`: NODE_ENV defaults to production unless set explicitly. */
export function defaultNodeEnv(value: string): void {
  if (!process.env.NODE_ENV) process.env.NODE_ENV = value;
}

import { Logger } from '@nestjs/common';

/**
 * A passing run is quiet (docs/quality.md): in every test file, Nest's console logger starts off.
 * Units built without an app (clients, certificate stores, verifiers) log through it; the apps the
 * tests start log through pino instead (their `useLogger` replaces this), shown on failure by
 * `test/setup/app-logs.ts`. Spies on `Logger.prototype` still see every call. `TEST_LOGS=1` keeps
 * the console logger on, to read what a test's units say.
 */
if (process.env.TEST_LOGS !== '1') Logger.overrideLogger(false);

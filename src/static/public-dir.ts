import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The repository's `public/` folder, found from this file's own location (never the working
 * directory: the service may be started from anywhere). The first ancestor with a `public/` folder:
 * the project root both from `src/static/` under ts-jest and from `dist/src/static/` after the build
 * (`dist/` holds a copy of package.json, so that file cannot mark the root).
 */
export function findPublicDir(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (isDirectory(join(dir, 'public'))) return join(dir, 'public');
    if (dirname(dir) === dir) throw new Error(`public/ not found above ${from}`);
  }
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Production starts the app three ways — `npm run start:prod` and the two systemd units — and all
 * three must carry the same heap settings and malloc arena cap (docs/performance.md "Memory"):
 * the peak-RSS target is only met with them, and the bench measures what start:prod says.
 */
const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** `VAR=value` settings and `--flags` in front of `dist/src/main.js`, whatever the wrapper. */
function settingsOf(command: string): { env: string[]; flags: string[] } {
  const env = [...command.matchAll(/\bMALLOC_ARENA_MAX=\S+/g)].map((m) => m[0]);
  const node = /\bnode((?:\s+--\S+)*)\s+dist\/src\/main\.js/.exec(command);
  if (!node) throw new Error(`no "node … dist/src/main.js" in: ${command}`);
  return { env, flags: node[1].split(/\s+/).filter(Boolean) };
}

describe('production start commands', () => {
  const startProd = settingsOf((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['start:prod']);

  it('start:prod sets the heap limits and MALLOC_ARENA_MAX', () => {
    expect(startProd.flags).toEqual(expect.arrayContaining(['--max-old-space-size=128', '--max-semi-space-size=8']));
    expect(startProd.env).toEqual(['MALLOC_ARENA_MAX=2']);
  });

  it.each(['deploy/systemd/image-classifier.service', 'deploy/systemd/image-classifier@.service'])(
    '%s starts node as start:prod does',
    (unit) => {
      const text = read(unit);
      const execStart = /^ExecStart=(.*)$/m.exec(text)?.[1] ?? '';
      const environment = [...text.matchAll(/^Environment=(.*)$/gm)].map((m) => m[1]).join(' ');
      const own = settingsOf(`${environment} ${execStart}`);
      expect(own.flags).toEqual(startProd.flags);
      expect(own.env).toEqual(startProd.env);
    },
  );
});

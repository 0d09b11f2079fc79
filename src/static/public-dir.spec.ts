import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPublicDir } from './public-dir';

describe('findPublicDir', () => {
  // The layout of a checkout after `npm run build`: dist/ holds its own package.json copy.
  const root = mkdtempSync(join(tmpdir(), 'public-dir-'));
  mkdirSync(join(root, 'public', 'wechat'), { recursive: true });
  mkdirSync(join(root, 'src', 'static'), { recursive: true });
  mkdirSync(join(root, 'dist', 'src', 'static'), { recursive: true });
  writeFileSync(join(root, 'package.json'), '{}');
  writeFileSync(join(root, 'dist', 'package.json'), '{}');

  it.each([
    ['the sources (ts-jest)', ['src', 'static']],
    ['the build (node dist/src/main.js)', ['dist', 'src', 'static']],
  ])('finds the project public/ from %s', (_name, parts) => {
    expect(findPublicDir(join(root, ...parts))).toBe(join(root, 'public'));
  });

  it('from this repository: the folder holding the member pages', () => {
    expect(findPublicDir()).toBe(join(__dirname, '..', '..', 'public'));
  });
});

import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config-error';
import { readOrCreateSecret } from './session-secret';

const tmp = () => mkdtempSync(join(tmpdir(), 'secret-'));

describe('readOrCreateSecret', () => {
  it('creates the folder and a 64-hex secret (0600) once, then reads it back; no temporary file stays', () => {
    const dir = join(tmp(), 'data');
    const file = join(dir, 'session-secret');
    const a = readOrCreateSecret(file);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(readOrCreateSecret(file)).toBe(a);
    expect(readFileSync(file, 'utf8')).toBe(a);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['session-secret']);
  });

  it('keeps a secret written by the operator (trimmed)', () => {
    const file = join(tmp(), 'session-secret');
    writeFileSync(file, `  ${'k'.repeat(40)}\n`);
    expect(readOrCreateSecret(file)).toBe('k'.repeat(40));
  });

  it('refuses a file holding less than 32 characters, naming SESSION_SECRET', () => {
    const file = join(tmp(), 'session-secret');
    writeFileSync(file, 'short');
    expect(() => readOrCreateSecret(file)).toThrow(ConfigError);
    expect(() => readOrCreateSecret(file)).toThrow(`Invalid configuration: SESSION_SECRET could not be read from ${file}`);
  });
});

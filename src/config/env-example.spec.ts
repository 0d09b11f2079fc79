import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envVariableNames } from './env.schema';

/**
 * `.env.example` is the operator's list of every setting: it must name exactly the variables the
 * schema validates (a variable added to one and not the other is a setting nobody can find, or a
 * line that does nothing). Optional legacy forms appear commented out (`# CREDITS_AMOUNTS_PROD=`) and count as listed.
 */
describe('.env.example', () => {
  const listed = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8')
    .split('\n')
    .map((line) => /^(?:#\s*)?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => !!name);
  const schema: string[] = envVariableNames();

  it('lists every variable of the schema exactly once', () => {
    expect(listed.filter((name, i) => listed.indexOf(name) !== i)).toEqual([]);
    expect(schema.filter((name) => !listed.includes(name))).toEqual([]);
  });

  it('lists nothing the schema does not validate', () => {
    expect(listed.filter((name) => !schema.includes(name))).toEqual([]);
  });
});

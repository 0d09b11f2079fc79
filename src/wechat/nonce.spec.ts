import { randomNonce } from './nonce';

describe('randomNonce', () => {
  it('defaults to 32 alphanumeric characters', () => {
    expect(randomNonce()).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it.each([1, 12, 16, 64, 1000])('returns exactly %i characters', (len) => {
    expect(randomNonce(len)).toMatch(new RegExp(`^[A-Za-z0-9]{${len}}$`));
  });

  it('does not repeat', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => randomNonce()));
    expect(seen.size).toBe(1000);
  });

  it('uses the whole alphabet roughly uniformly (no modulo bias)', () => {
    const sample = randomNonce(62 * 2000);
    const counts = new Map<string, number>();
    for (const ch of sample) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Expected 2000 each; a biased `byte % 62` would give the first 8 characters ~2.5% more, but a
    // generous window keeps the test stable while still catching a missing or dominant character.
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(1700);
      expect(count).toBeLessThan(2300);
    }
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects invalid length %p', (len) => {
    expect(() => randomNonce(len)).toThrow(RangeError);
  });
});

import { isFresh, newSceneStr } from './qr-binding.service';

const T0 = Date.UTC(2025, 10, 19, 4, 0, 0);
const at = (seconds: number) => new Date(T0 + seconds * 1000);

describe('isFresh (a code is handed out again while more than max(60 s, half its lifetime) is left)', () => {
  const code1800 = { createdAt: at(0), expireAt: at(1800) };

  it.each([
    [0, true],
    [899, true],
    [900, false], // exactly half left is not "more than half"
    [1200, false],
    [1800, false],
    [5000, false],
  ])('a 1800 s code at +%i s → %s', (elapsed, fresh) => {
    expect(isFresh(code1800, at(elapsed))).toBe(fresh);
  });

  it('the 60 s floor rules short codes: a 100 s code is fresh only while more than 60 s are left', () => {
    const short = { createdAt: at(0), expireAt: at(100) };
    expect(isFresh(short, at(39))).toBe(true);
    expect(isFresh(short, at(40))).toBe(false);
    expect(isFresh({ createdAt: at(0), expireAt: at(60) }, at(0))).toBe(false);
  });
});

describe('newSceneStr', () => {
  it('is bind_ + 20 url-safe characters, never repeated', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const s = newSceneStr();
      expect(s).toMatch(/^bind_[A-Za-z0-9_-]{20}$/);
      seen.add(s);
    }
    expect(seen.size).toBe(1000);
  });
});

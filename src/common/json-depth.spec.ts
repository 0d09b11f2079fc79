import { jsonNestsDeeperThan } from './json-depth';

const deep = (n: number) => Buffer.from('['.repeat(n) + ']'.repeat(n));

describe('jsonNestsDeeperThan', () => {
  it('counts objects and arrays alike, up to the limit inclusive', () => {
    expect(jsonNestsDeeperThan(deep(32), 32)).toBe(false);
    expect(jsonNestsDeeperThan(deep(33), 32)).toBe(true);
    expect(jsonNestsDeeperThan(Buffer.from('{"a":{"b":[{"c":1}]}}'), 4)).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from('{"a":{"b":[{"c":[1]}]}}'), 4)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonNestsDeeperThan(Buffer.from(JSON.stringify({ s: '[[[[[[{{{{{' })), 1)).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from(JSON.stringify({ s: 'a"[[[[\\"[[[' })), 1)).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from(JSON.stringify({ s: '中文[[[' })), 1)).toBe(false);
  });

  it('a sequence of shallow values is not deep', () => {
    expect(jsonNestsDeeperThan(Buffer.from(JSON.stringify(Array.from({ length: 1000 }, () => [1]))), 2)).toBe(false);
  });
});

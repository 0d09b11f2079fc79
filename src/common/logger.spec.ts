import type { ServerResponse } from 'node:http';
import { levelOf, markChosen500 } from './logger';

const res = (statusCode: number) => ({ statusCode }) as ServerResponse;

describe('request line level', () => {
  it('is info below 400, warn for 4xx and the 5xx the service chose, error for a thrown error or an unmarked 500', () => {
    expect(levelOf(res(200))).toBe('info');
    expect(levelOf(res(204))).toBe('info');
    expect(levelOf(res(404))).toBe('warn');
    expect(levelOf(res(502))).toBe('warn');
    expect(levelOf(res(503))).toBe('warn');
    expect(levelOf(res(500))).toBe('error');
    expect(levelOf(res(200), new Error('aborted'))).toBe('error');
  });

  it('a 500 marked as chosen (WeChat Pay v3 "retry later") is a warning; the mark does not hide a thrown error', () => {
    const chosen = res(500);
    markChosen500(chosen);
    expect(levelOf(chosen)).toBe('warn');
    expect(levelOf(chosen, new Error('boom'))).toBe('error');
  });
});

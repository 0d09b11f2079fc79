import { Clock } from '../../src/common/clock';
import { SandboxClock } from '../../src/sandbox/core/sandbox-clock';
import { app, postJson, sb, useSandboxApp } from './harness';

/** Time travel (`POST /sandbox/clock`): the sandbox's clock is the one the whole app reads. */
useSandboxApp();

describe('time travel', () => {
  it('moves the Clock the app itself injects, and reset moves it back', async () => {
    const clock = app.app.get(Clock);
    expect(clock).toBeInstanceOf(SandboxClock);
    const ahead = () => clock.nowMs() - Date.now();
    expect(Math.abs(ahead())).toBeLessThan(1000);
    const moved = await postJson(sb('/clock'), { advance_seconds: 3600 });
    expect(moved).toEqual({ status: 200, body: { ok: true, now: expect.stringMatching(/\+08:00$/), offset_seconds: 3600 } });
    expect(Math.abs(ahead() - 3600_000)).toBeLessThan(1000);
    expect((await postJson(sb('/clock'), { advance_seconds: -600 })).body.offset_seconds).toBe(3000);
    expect((await postJson(sb('/reset'), {})).status).toBe(200);
    expect(Math.abs(ahead())).toBeLessThan(1000);
  });

  it('refuses a move of more than 366 days either way', async () => {
    expect((await postJson(sb('/clock'), { advance_seconds: 366 * 86400 + 1 })).status).toBe(400);
    expect((await postJson(sb('/clock'), { advance_seconds: 1.5 })).status).toBe(400);
    expect((await postJson(sb('/clock'), {})).status).toBe(400);
    expect(Math.abs(app.app.get(Clock).nowMs() - Date.now())).toBeLessThan(1000);
  });
});

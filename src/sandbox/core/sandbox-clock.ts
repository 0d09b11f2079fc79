import { SystemClock } from '../../common/clock';

/**
 * The app's Clock while the sandbox is mounted (app.module.ts provides it instead of the plain
 * SystemClock): the system time plus an offset that `POST /sandbox/clock` moves and
 * `POST /sandbox/reset` moves back, so tokens, codes, QR and order expiry and timestamps of the
 * app and of the simulator travel together. Production's clock has no such knob.
 */
export class SandboxClock extends SystemClock {
  private offsetMs = 0;

  override nowMs(): number {
    return super.nowMs() + this.offsetMs;
  }

  shift(ms: number): void {
    this.offsetMs += ms;
  }
}

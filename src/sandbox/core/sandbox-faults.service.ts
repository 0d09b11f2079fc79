import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { AppConfig } from '../../config/app-config';
import { SandboxFaults } from './sandbox-faults';
import { SandboxTimers } from './sandbox-timers.service';
import { MAX_SLOW_MS } from './sandbox.constants';
import { SandboxStore } from './sandbox.store';

export type FaultArea = 'token' | 'api' | 'pay';

const ALLOWED: { [K in keyof SandboxFaults]: ReadonlyArray<SandboxFaults[K]> | 'number' } = {
  token: ['40001-once', 'down', null],
  api: ['down', null],
  pay: ['down', 'slow', 'bad_signature', null],
  notify: ['drop', null],
  refund: ['auto', 'manual'],
  v3_serial: ['public_key', 'certificate'],
  push_mode: ['plain', 'compatible', 'safe'],
  slow_ms: 'number',
};

/** The fault knobs and the gate every emulated endpoint passes first. */
@Injectable()
export class SandboxFaultsService {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly timers: SandboxTimers,
    private readonly config: AppConfig,
  ) {}

  current(): SandboxFaults {
    return { ...this.store.faults };
  }

  /** Applies the given knobs (others keep their value); `null` switches a fault off. */
  update(patch: Record<string, unknown>): SandboxFaults {
    const next: Record<string, unknown> = { ...this.store.faults };
    for (const [name, value] of Object.entries(patch)) {
      if (!Object.hasOwn(ALLOWED, name)) throw new BadRequestException(`${name}: unknown fault knob`);
      const allowed = ALLOWED[name as keyof SandboxFaults];
      if (allowed === 'number') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SLOW_MS) {
          throw new BadRequestException(`${name}: must be an integer from 0 to ${MAX_SLOW_MS}`);
        }
      } else if (!(allowed as ReadonlyArray<unknown>).includes(value)) {
        throw new BadRequestException(`${name}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
      }
      next[name] = value;
    }
    if (next.push_mode !== 'plain' && !this.config.wechat.encodingAesKey) {
      throw new BadRequestException('push_mode: safe and compatible modes need WECHAT_ENCODING_AES_KEY');
    }
    this.store.faults = next as unknown as SandboxFaults;
    this.logger.debug(`faults now ${JSON.stringify(this.store.faults)}`);
    return this.current();
  }

  /**
   * False when a fault took the request over: "down" destroys the socket (the client sees a
   * connection reset, as with an unreachable host); "slow" answers only after `slow_ms`, beyond the
   * client's timeout, and drops the connection instead if the sandbox shuts down meanwhile.
   */
  async pass(area: FaultArea, req: Request): Promise<boolean> {
    const f = this.store.faults;
    const fault = area === 'token' ? (f.token === 'down' || f.api === 'down' ? 'down' : null) : area === 'api' ? f.api : f.pay;
    if (fault === 'down') {
      req.socket.destroy();
      return false;
    }
    if (fault === 'slow') {
      const elapsed = await this.timers.delay(f.slow_ms);
      if (!elapsed) {
        req.socket.destroy();
        return false;
      }
    }
    return true;
  }

  get badSignature(): boolean {
    return this.store.faults.pay === 'bad_signature';
  }
}

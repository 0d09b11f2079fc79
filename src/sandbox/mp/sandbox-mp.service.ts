import { Injectable } from '@nestjs/common';
import { errorPage } from '../core/sandbox-html';
import { html, SandboxReply } from '../core/sandbox-reply';
import { SandboxStore } from '../core/sandbox.store';
import { renderQrPage } from './sandbox-mp-pages';
import { newSandboxOpenid } from './sandbox-oauth.service';
import { SandboxQrService } from './sandbox-qr.service';
import { str } from './sandbox-token.service';

/** `mp.weixin.qq.com/cgi-bin/showqrcode?ticket=`: an HTML page with the code and a "scan as…" form. */
@Injectable()
export class SandboxMpService {
  constructor(
    private readonly store: SandboxStore,
    private readonly qr: SandboxQrService,
  ) {}

  showQr(query: Record<string, unknown>): SandboxReply {
    const ticket = str(query.ticket);
    const entry = ticket ? this.store.tickets.get(ticket) : undefined;
    if (!entry) return html(errorPage('二维码不存在', 'ticket 无效 / unknown ticket (was it URL-encoded?)'), 404);
    const lookup = this.qr.lookup(ticket);
    if (!lookup.ok) return html(errorPage('二维码已过期', '二维码已过期 / this QR code has expired'), 404);
    const suggested = this.store.listUsers()[0]?.openid ?? newSandboxOpenid();
    return html(renderQrPage({ ticket: entry, expired: false, suggested, actionUrl: '/sandbox/actions/scan' }));
  }
}

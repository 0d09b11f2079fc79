import { Injectable } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { Clock } from '../../common/clock';
import { json, SandboxReply } from '../core/sandbox-reply';
import { OPENID_PATTERN, SANDBOX_ACCOUNT_ID } from '../core/sandbox.constants';
import { SandboxStore } from '../core/sandbox.store';
import { OpenidActionDto, ScanActionDto, TextActionDto } from './dto/sandbox-user-actions.dto';
import { SandboxPushService } from './sandbox-push.service';
import { SandboxQrService } from './sandbox-qr.service';
import { str } from './sandbox-token.service';
import { wxError } from './sandbox-wx-errors';

/** The user side: a test user scans, follows, unfollows, writes — and WeChat pushes it to the app. */
@Injectable()
export class SandboxUsersService {
  constructor(
    private readonly store: SandboxStore,
    private readonly push: SandboxPushService,
    private readonly qr: SandboxQrService,
    private readonly clock: Clock,
  ) {}

  /**
   * A scan: not yet following → `subscribe` with `EventKey=qrscene_<scene>` and the Ticket (the user
   * follows on the way); already following → `SCAN` with `EventKey=<scene>`.
   */
  async scan(dto: ScanActionDto): Promise<SandboxReply> {
    let scene: string;
    let ticket: string | undefined;
    if (dto.ticket !== undefined) {
      const found = this.store.tickets.get(dto.ticket);
      if (!found) return json({ ok: false, error: 'unknown ticket' }, 404);
      const lookup = this.qr.lookup(dto.ticket);
      if (!lookup.ok && !dto.force) return json({ ok: false, error: '二维码已过期 / ticket expired (nothing pushed)' }, 410);
      scene = SandboxQrService.scene(found);
      ticket = found.ticket;
    } else if (dto.scene !== undefined) {
      scene = dto.scene;
    } else {
      return json({ ok: false, error: 'ticket or scene is required' }, 400);
    }
    const user = this.store.touchUser(dto.openid, 'scan', this.clock.nowMs());
    const following = dto.subscribed ?? user.subscribed;
    const event = following ? 'SCAN' : 'subscribe';
    const eventKey = following ? scene : `qrscene_${scene}`;
    if (!following) this.follow(dto.openid);
    const fields = this.push.eventFields(dto.openid, event, eventKey, ticket);
    const push = await this.push.push(fields, dto.openid, `${event} ${eventKey}`, dto.retry ?? true);
    return json({ ok: true, event, event_key: eventKey, openid: dto.openid, push });
  }

  async subscribe(dto: OpenidActionDto): Promise<SandboxReply> {
    this.store.touchUser(dto.openid, 'subscribe', this.clock.nowMs());
    this.follow(dto.openid);
    const push = await this.push.push(this.push.eventFields(dto.openid, 'subscribe', ''), dto.openid, 'subscribe', dto.retry ?? true);
    return json({ ok: true, event: 'subscribe', openid: dto.openid, push });
  }

  async unsubscribe(dto: OpenidActionDto): Promise<SandboxReply> {
    const user = this.store.touchUser(dto.openid, 'unsubscribe', this.clock.nowMs());
    user.subscribed = false;
    user.subscribedAt = undefined;
    const push = await this.push.push(this.push.eventFields(dto.openid, 'unsubscribe', ''), dto.openid, 'unsubscribe', dto.retry ?? true);
    return json({ ok: true, event: 'unsubscribe', openid: dto.openid, push });
  }

  /** A text message (the app answers `success` or a passive reply). */
  async text(dto: TextActionDto): Promise<SandboxReply> {
    this.store.touchUser(dto.openid, 'text', this.clock.nowMs());
    const fields = {
      ToUserName: SANDBOX_ACCOUNT_ID,
      FromUserName: dto.openid,
      CreateTime: this.clock.nowSeconds(),
      MsgType: 'text',
      Content: dto.content,
      MsgId: `${randomInt(1e9, 2 ** 47)}${randomInt(1e6, 9e6)}`,
    };
    const push = await this.push.push(fields, dto.openid, 'text message', dto.retry ?? true);
    return json({ ok: true, msg_type: 'text', openid: dto.openid, push });
  }

  /** `GET /cgi-bin/user/info?openid=`: what the sandbox knows about a follower. */
  userInfo(query: Record<string, unknown>): object {
    const openid = str(query.openid);
    if (!OPENID_PATTERN.test(openid)) return wxError(40003);
    const user = this.store.findUser(openid);
    if (!user?.subscribed) return { subscribe: 0, openid };
    return {
      subscribe: 1,
      openid,
      language: 'zh_CN',
      subscribe_time: Math.floor((user.subscribedAt ?? user.firstSeen) / 1000),
      remark: '',
      groupid: 0,
      tagid_list: [],
      subscribe_scene: 'ADD_SCENE_QR_CODE',
      qr_scene: 0,
      qr_scene_str: '',
    };
  }

  private follow(openid: string): void {
    const user = this.store.touchUser(openid, 'subscribe', this.clock.nowMs());
    if (!user.subscribed) {
      user.subscribed = true;
      user.subscribedAt = this.clock.nowMs();
    }
  }
}

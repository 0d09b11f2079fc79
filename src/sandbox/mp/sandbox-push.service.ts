import { Injectable, Logger } from '@nestjs/common';
import { randomInt, randomUUID } from 'node:crypto';
import { Clock } from '../../common/clock';
import { maskId } from '../../common/redact';
import { AppConfig } from '../../config/app-config';
import { WechatMessageCrypto } from '../../wechat/message-crypto';
import { sha1Signature } from '../../wechat/signature';
import { buildXml, parseWechatXml } from '../../wechat/xml';
import { PushMode } from '../core/sandbox-faults';
import { sendHttp, snippet } from '../core/sandbox-http';
import { DeliveryRecord } from '../core/sandbox-records';
import { SandboxTimers } from '../core/sandbox-timers.service';
import { OUTGOING_TIMEOUT_MS, PUSH_RETRY_DELAYS_MS, SANDBOX_ACCOUNT_ID } from '../core/sandbox.constants';
import { SandboxStore } from '../core/sandbox.store';

/** The app's passive reply, decrypted and checked when it came encrypted. */
export interface PushReply {
  encrypted: boolean;
  /** Encrypted replies: whether `MsgSignature` verified. */
  signature_ok?: boolean;
  xml: string;
  fields: Record<string, string>;
  error?: string;
}

export interface PushOutcome {
  delivery_id: string;
  mode: PushMode;
  delivered: boolean;
  status?: number;
  content_type?: string;
  body?: string;
  reply?: PushReply;
  error?: string;
  /** Retries are scheduled in the background (the first attempt failed with no answer or 5xx). */
  retrying?: boolean;
}

type Fields = Record<string, string | number>;

function digits(): string {
  return String(randomInt(100_000_000, 2_147_483_647));
}

/**
 * Sends message/event pushes to the app exactly as WeChat does: query `signature, timestamp, nonce,
 * openid`; in safe/compatible mode also `encrypt_type=aes&msg_signature=…` and an `Encrypt` element
 * (safe: `<xml><ToUserName/><Encrypt/></xml>` only). Unanswered or 5xx pushes are retried up to 3
 * times with the identical request, as WeChat does.
 */
@Injectable()
export class SandboxPushService {
  private readonly logger = new Logger('Sandbox');
  private crypto?: WechatMessageCrypto;

  constructor(
    private readonly store: SandboxStore,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly timers: SandboxTimers,
  ) {}

  get verifyUrl(): string {
    return `${this.config.wechat.sandboxCallbackBase}/api/v1/auth/wechat/verify`;
  }

  private messageCrypto(): WechatMessageCrypto {
    this.crypto ??= new WechatMessageCrypto({
      token: this.config.wechat.token,
      encodingAesKey: this.config.wechat.encodingAesKey,
      appId: this.config.wechat.appId,
    });
    return this.crypto;
  }

  /** An event from `openid`: ToUserName, FromUserName, CreateTime, MsgType=event, Event, EventKey, Ticket. */
  eventFields(openid: string, event: string, eventKey?: string, ticket?: string): Fields {
    const fields: Fields = {
      ToUserName: SANDBOX_ACCOUNT_ID,
      FromUserName: openid,
      CreateTime: this.clock.nowSeconds(),
      MsgType: 'event',
      Event: event,
    };
    if (eventKey !== undefined) fields.EventKey = eventKey;
    if (ticket) fields.Ticket = ticket;
    return fields;
  }

  async push(fields: Fields, openid: string, summary: string, retry = true): Promise<PushOutcome> {
    const mode = this.store.faults.push_mode;
    const timestamp = String(this.clock.nowSeconds());
    const nonce = digits();
    const query: Record<string, string> = {
      signature: sha1Signature(this.config.wechat.token, timestamp, nonce),
      timestamp,
      nonce,
      openid,
    };
    const plainXml = buildXml(fields);
    let body = plainXml;
    if (mode !== 'plain') {
      const crypto = this.messageCrypto();
      const encrypt = crypto.encrypt(plainXml);
      query.encrypt_type = 'aes';
      query.msg_signature = crypto.msgSignature(timestamp, nonce, encrypt);
      body =
        mode === 'safe' ? buildXml({ ToUserName: String(fields.ToUserName), Encrypt: encrypt }) : buildXml({ ...fields, Encrypt: encrypt });
    }
    const url = `${this.verifyUrl}?${new URLSearchParams(query).toString()}`;
    const record = this.store.addDelivery({
      id: randomUUID(),
      kind: 'push',
      target: this.verifyUrl,
      summary: `${summary} (${mode})`,
      state: 'pending',
      attempts: [],
      createdAt: this.clock.nowMs(),
    });
    this.store.count('pushes_sent');
    this.logger.debug(`push ${summary} from ${maskId(openid)} (${mode})`);

    const first = await this.attempt(url, body, record);
    const outcome: PushOutcome = { delivery_id: record.id, mode, delivered: first.ok };
    if (first.status !== undefined) {
      outcome.status = first.status;
      outcome.content_type = first.contentType;
      outcome.body = first.body;
      outcome.reply = await this.decodeReply(first.body ?? '');
    } else {
      outcome.error = first.error;
    }
    if (first.ok) {
      record.state = 'delivered';
    } else if (retry && first.retryable) {
      outcome.retrying = true;
      void this.retry(url, body, record);
    } else {
      record.state = 'failed';
    }
    return outcome;
  }

  private async retry(url: string, body: string, record: DeliveryRecord): Promise<void> {
    for (const pause of PUSH_RETRY_DELAYS_MS) {
      if (!(await this.timers.delay(pause))) {
        record.state = 'cancelled';
        return;
      }
      const result = await this.attempt(url, body, record);
      if (result.ok) {
        record.state = 'delivered';
        return;
      }
      if (!result.retryable) break;
    }
    record.state = 'gave_up';
  }

  private async attempt(
    url: string,
    body: string,
    record: DeliveryRecord,
  ): Promise<{ ok: boolean; retryable: boolean; status?: number; contentType?: string; body?: string; error?: string }> {
    const { signal, release } = this.timers.abortable();
    const at = this.clock.nowMs();
    try {
      const answer = await sendHttp(url, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml' },
        body,
        timeoutMs: OUTGOING_TIMEOUT_MS,
        signal,
      });
      const text = answer.body.toString('utf8');
      const ok = answer.status >= 200 && answer.status < 300;
      record.attempts.push({ at, ok, status: answer.status, answer: snippet(text) });
      return {
        ok,
        retryable: answer.status >= 500,
        status: answer.status,
        contentType: String(answer.headers['content-type'] ?? ''),
        body: text,
      };
    } catch (e) {
      const error = (e as Error).message;
      record.attempts.push({ at, ok: false, error });
      return { ok: false, retryable: !signal.aborted, error };
    } finally {
      release();
    }
  }

  /** Plain replies are parsed; encrypted ones verified (MsgSignature) and decrypted first. */
  async decodeReply(body: string): Promise<PushReply | undefined> {
    const text = body.trim();
    if (!text.startsWith('<')) return undefined;
    let fields: Record<string, string>;
    try {
      fields = await parseWechatXml(text);
    } catch (e) {
      return { encrypted: false, xml: text, fields: {}, error: (e as Error).message };
    }
    if (!fields.Encrypt) return { encrypted: false, xml: text, fields };
    if (!this.config.wechat.encodingAesKey) return { encrypted: true, xml: text, fields, error: 'no EncodingAESKey configured' };
    const crypto = this.messageCrypto();
    const signatureOk = crypto.verifyMsgSignature(fields.MsgSignature ?? '', fields.TimeStamp ?? '', fields.Nonce ?? '', fields.Encrypt);
    try {
      const xml = crypto.decrypt(fields.Encrypt);
      return { encrypted: true, signature_ok: signatureOk, xml, fields: await parseWechatXml(xml) };
    } catch (e) {
      return { encrypted: true, signature_ok: signatureOk, xml: text, fields: {}, error: (e as Error).message };
    }
  }

  /**
   * The console's "submit" of the server URL: `GET verify?signature&timestamp&nonce&echostr`; in
   * safe mode the echostr is encrypted and signed with msg_signature. The app must answer the
   * plaintext echostr.
   */
  async verifyServer(): Promise<{ ok: boolean; mode: PushMode; status?: number; body?: string; error?: string }> {
    const mode = this.store.faults.push_mode;
    const timestamp = String(this.clock.nowSeconds());
    const nonce = digits();
    const echostr = `${digits()}${digits()}`;
    const query: Record<string, string> = {
      signature: sha1Signature(this.config.wechat.token, timestamp, nonce),
      timestamp,
      nonce,
      echostr,
    };
    if (mode === 'safe') {
      const crypto = this.messageCrypto();
      query.echostr = crypto.encrypt(echostr);
      query.msg_signature = crypto.msgSignature(timestamp, nonce, query.echostr);
    }
    const record = this.store.addDelivery({
      id: randomUUID(),
      kind: 'verify',
      target: this.verifyUrl,
      summary: `server URL verification (${mode})`,
      state: 'pending',
      attempts: [],
      createdAt: this.clock.nowMs(),
    });
    const { signal, release } = this.timers.abortable();
    try {
      const answer = await sendHttp(`${this.verifyUrl}?${new URLSearchParams(query).toString()}`, {
        method: 'GET',
        timeoutMs: OUTGOING_TIMEOUT_MS,
        signal,
      });
      const body = answer.body.toString('utf8');
      const ok = answer.status === 200 && body === echostr;
      record.attempts.push({ at: this.clock.nowMs(), ok, status: answer.status, answer: snippet(body) });
      record.state = ok ? 'delivered' : 'failed';
      return { ok, mode, status: answer.status, body: snippet(body) };
    } catch (e) {
      record.attempts.push({ at: this.clock.nowMs(), ok: false, error: (e as Error).message });
      record.state = 'failed';
      return { ok: false, mode, error: (e as Error).message };
    } finally {
      release();
    }
  }
}

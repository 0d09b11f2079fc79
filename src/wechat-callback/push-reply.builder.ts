import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { randomNonce } from '../wechat/nonce';
import { buildXml } from '../wechat/xml';
import { CallbackCrypto } from './callback-crypto';
import { CallbackReply } from './callback-http';
import { PushOutcome } from './push-event.handler';
import { PushMessage } from './push-message';

const XML = 'application/xml; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';

/**
 * WeChat's passive replies: a text message back to the user (encrypted when the push was), an
 * empty body, or `success` ("received, nothing to say").
 */
@Injectable()
export class PushReplyBuilder {
  constructor(
    private readonly clock: Clock,
    private readonly crypto: CallbackCrypto,
  ) {}

  build(outcome: PushOutcome, msg: PushMessage): CallbackReply {
    if (outcome.kind === 'empty') return { status: 200, contentType: TEXT, body: '' };
    if (outcome.kind === 'success') return { status: 200, contentType: TEXT, body: 'success' };
    const now = this.clock.nowSeconds();
    const xml = buildXml({
      ToUserName: msg.openid,
      FromUserName: msg.toUserName,
      CreateTime: now,
      MsgType: 'text',
      Content: outcome.lines.join('\n'),
    });
    if (msg.mode === 'plaintext') return { status: 200, contentType: XML, body: xml };
    const crypto = this.crypto.messageCrypto;
    // Unreachable: the verifier refuses encrypted pushes when no key is configured.
    if (!crypto) throw new Error('encrypted push without message crypto');
    return { status: 200, contentType: XML, body: crypto.buildEncryptedReply(xml, String(now), randomNonce(16)) };
  }

  /** The plaintext answer to a server URL verification. */
  echo(echostr: string): CallbackReply {
    return { status: 200, contentType: TEXT, body: echostr };
  }
}

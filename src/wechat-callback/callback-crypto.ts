import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { WechatMessageCrypto } from '../wechat/message-crypto';

/**
 * The Official Account's safe-mode crypto, built once from config. `null` when no
 * WECHAT_ENCODING_AES_KEY is configured: encrypted pushes are then refused (403) and replies stay plain.
 */
@Injectable()
export class CallbackCrypto {
  private readonly logger = new Logger('WechatPush');
  readonly messageCrypto: WechatMessageCrypto | null;

  constructor(config: AppConfig) {
    const { token, encodingAesKey, appId } = config.wechat;
    let crypto: WechatMessageCrypto | null = null;
    if (encodingAesKey) {
      try {
        crypto = new WechatMessageCrypto({ token, encodingAesKey, appId });
      } catch (err) {
        // Config validation already checks the key's shape; an empty token or appId lands here.
        this.logger.warn(`safe mode disabled: ${(err as Error).message}`);
      }
    }
    this.messageCrypto = crypto;
  }
}

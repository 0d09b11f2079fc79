import { Injectable } from '@nestjs/common';
import { toIsoShanghai } from '../../../common/time-format';
import { AppConfig } from '../../../config/app-config';
import { randomNonce } from '../../../wechat/nonce';
import { aesGcmEncrypt } from '../../../wechat/pay/crypto/aes-gcm';
import { SandboxReply } from '../../core/sandbox-reply';
import { SandboxKeysService } from '../sandbox-keys.service';
import { SandboxV3Replies } from './sandbox-v3-replies.service';

/** `GET /v3/certificates`: the platform certificate, AES-256-GCM encrypted with the APIv3 key. */
@Injectable()
export class SandboxV3CertificatesService {
  constructor(
    private readonly keys: SandboxKeysService,
    private readonly replies: SandboxV3Replies,
    private readonly config: AppConfig,
  ) {}

  certificates(): SandboxReply {
    const certificate = this.keys.platformCertificate;
    const nonce = randomNonce(12);
    let ciphertext: string;
    try {
      ciphertext = aesGcmEncrypt({ key: this.config.pay.apiV3Key, nonce, associatedData: 'certificate', plaintext: certificate.pem });
    } catch {
      return this.replies.error(500, 'SYSTEM_ERROR', 'APIv3密钥未设置或长度不是32字节');
    }
    return this.replies.signedJson(200, {
      data: [
        {
          serial_no: certificate.serial,
          effective_time: toIsoShanghai(certificate.notBefore),
          expire_time: toIsoShanghai(certificate.notAfter),
          encrypt_certificate: { algorithm: 'AEAD_AES_256_GCM', nonce, associated_data: 'certificate', ciphertext },
        },
      ],
    });
  }
}

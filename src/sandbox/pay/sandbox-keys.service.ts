import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { assertSandboxAllowed } from '../core/sandbox.constants';
import {
  ensureSandboxCertificates,
  ensureSandboxKeys,
  SandboxCertificate,
  SandboxCertificates,
  SandboxKeyMaterial,
  sandboxKeyPaths,
  SandboxKeyPaths,
} from './sandbox-keys';

/**
 * The sandbox's RSA keys and certificates under `<dataDir>/sandbox/` (mode 0600, created once).
 * Key pairs are ready when the constructor returns; certificates after `onModuleInit`.
 */
@Injectable()
export class SandboxKeysService implements OnModuleInit {
  private readonly logger = new Logger('Sandbox');
  readonly paths: SandboxKeyPaths;
  readonly keys: SandboxKeyMaterial;
  private certificates?: SandboxCertificates;

  constructor(private readonly config: AppConfig) {
    assertSandboxAllowed(config);
    this.paths = sandboxKeyPaths(config);
    this.keys = ensureSandboxKeys(this.paths);
  }

  async onModuleInit(): Promise<void> {
    this.certificates = await ensureSandboxCertificates(this.paths, this.keys, {
      mchId: this.config.pay.mchId,
      certSerial: this.config.pay.certSerial,
    });
    this.logger.debug(`sandbox keys ready in ${this.paths.dir} (platform certificate serial ${this.certificates.platform.serial})`);
  }

  get platformCertificate(): SandboxCertificate {
    if (!this.certificates) throw new Error('sandbox certificates are not ready yet');
    return this.certificates.platform;
  }

  /** What `Wechatpay-Serial` names: the public key id by default, the certificate serial on request. */
  responseSerial(kind: 'public_key' | 'certificate'): string {
    if (kind === 'certificate' || !this.config.pay.publicKeyId) return this.platformCertificate.serial;
    return this.config.pay.publicKeyId;
  }
}

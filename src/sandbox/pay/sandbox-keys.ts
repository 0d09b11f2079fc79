import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { generateKeyPairSync, KeyObject, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AppConfig } from '../../config/app-config';
import { SANDBOX_KEY_FILES } from '../../config/sandbox-defaults';
import { rsaPrivateKey, rsaPublicKey } from '../../wechat/pay/crypto/v3-sign';
import { PLATFORM_CERTIFICATE_FILE } from '../core/sandbox.constants';

/**
 * Key files of the sandbox. Each is created once with an exclusive create (`wx`), so concurrent
 * processes sharing a data folder agree on one key; a loser of the race reads the winner's file,
 * retrying briefly while it may still be half-written.
 */
export interface SandboxKeyPaths {
  dir: string;
  /** The merchant's API private key: the app's clients sign with it, the sandbox verifies with its public half. */
  merchantPrivateKey: string;
  merchantCertificate: string;
  /** "WeChat Pay"'s own key pair: the sandbox signs responses and notifications with the private half. */
  platformPrivateKey: string;
  platformPublicKey: string;
  platformCertificate: string;
}

export function sandboxKeyPaths(config: Pick<AppConfig, 'dataDir' | 'pay'>): SandboxKeyPaths {
  const dir = join(config.dataDir, 'sandbox');
  return {
    dir,
    merchantPrivateKey: config.pay.privateKeyPath || join(dir, SANDBOX_KEY_FILES.merchantPrivateKey),
    merchantCertificate: join(dir, SANDBOX_KEY_FILES.merchantCertificate),
    platformPrivateKey: join(dir, SANDBOX_KEY_FILES.platformPrivateKey),
    platformPublicKey: config.pay.publicKeyPath || join(dir, SANDBOX_KEY_FILES.platformPublicKey),
    platformCertificate: join(dir, PLATFORM_CERTIFICATE_FILE),
  };
}

export interface SandboxKeyMaterial {
  merchantPrivateKey: KeyObject;
  merchantPublicKey: KeyObject;
  platformPrivateKey: KeyObject;
  platformPublicKey: KeyObject;
}

export interface SandboxCertificate {
  pem: string;
  /** Upper-case hex, as WeChat Pay writes serials. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface SandboxCertificates {
  platform: SandboxCertificate;
  /** Only when the configured merchant serial is hex (it is in the sandbox defaults). */
  merchant?: SandboxCertificate;
}

const READ_RETRIES = 100;
const READ_RETRY_MS = 20;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/**
 * Returns the file's content, creating it with `generate()` when absent. `complete` tells a fully
 * written file from one a racing process is still writing.
 */
function ensureFile(path: string, generate: () => string, complete: (text: string) => boolean): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) {
    const content = generate();
    let fd: number | undefined;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
      return content;
    }
  }
  for (let i = 0; i < READ_RETRIES; i++) {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
    if (complete(text)) return text;
    sleepSync(READ_RETRY_MS);
  }
  throw new Error(`sandbox key file ${path} is incomplete or unreadable; delete it to let the sandbox create a new one`);
}

function parsesAs<T>(parse: () => T): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

function newRsaPrivateKeyPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * Creates (once) or reads the merchant and platform key pairs. Synchronous on purpose: it runs in
 * the sandbox's constructor, so the merchant key and the platform public key exist before any
 * other provider's `onModuleInit` (the app's pay client may load them there).
 */
export function ensureSandboxKeys(paths: SandboxKeyPaths): SandboxKeyMaterial {
  const privateKeyComplete = (text: string) => parsesAs(() => rsaPrivateKey(text));
  const merchantPrivateKey = rsaPrivateKey(ensureFile(paths.merchantPrivateKey, newRsaPrivateKeyPem, privateKeyComplete));
  const platformPrivateKey = rsaPrivateKey(ensureFile(paths.platformPrivateKey, newRsaPrivateKeyPem, privateKeyComplete));
  const platformPublicKey = rsaPublicKey(platformPrivateKey);
  const publicPem = ensureFile(
    paths.platformPublicKey,
    () => platformPublicKey.export({ type: 'spki', format: 'pem' }).toString(),
    (text) => parsesAs(() => rsaPublicKey(text)),
  );
  if (!spki(rsaPublicKey(publicPem)).equals(spki(platformPublicKey))) {
    throw new Error(
      `${paths.platformPublicKey} does not belong to ${paths.platformPrivateKey}; delete both to regenerate the sandbox keys`,
    );
  }
  return { merchantPrivateKey, merchantPublicKey: rsaPublicKey(merchantPrivateKey), platformPrivateKey, platformPublicKey };
}

const SIGNING = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;

let providerSet = false;
function x509Provider(): void {
  if (!providerSet) {
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    providerSet = true;
  }
}

/** A random positive 20-byte serial, upper-case hex (never equal to a `PUB_KEY_ID_…`). */
export function randomCertificateSerial(): string {
  const bytes = randomBytes(20);
  bytes[0] = (bytes[0] & 0x7f) | 0x10;
  return bytes.toString('hex').toUpperCase();
}

async function selfSigned(key: KeyObject, serial: string, subject: string): Promise<string> {
  x509Provider();
  const subtle = webcrypto.subtle;
  const privateKey = await subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), SIGNING, false, ['sign']);
  const publicKey = await subtle.importKey('spki', spki(rsaPublicKey(key)), SIGNING, true, ['verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 5 * 365 * DAY_MS),
    signingAlgorithm: SIGNING,
    keys: { privateKey, publicKey },
  });
  return certificate.toString('pem');
}

function describeCertificate(pem: string, expectedKey: KeyObject, path: string): SandboxCertificate {
  const certificate = new X509Certificate(pem);
  if (!spki(certificate.publicKey).equals(spki(rsaPublicKey(expectedKey)))) {
    throw new Error(`${path} was not issued for the current sandbox key; delete it to regenerate`);
  }
  return {
    pem,
    serial: certificate.serialNumber.toUpperCase(),
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
  };
}

async function ensureCertificate(path: string, key: KeyObject, serial: string, subject: string): Promise<SandboxCertificate> {
  const complete = (text: string) => parsesAs(() => new X509Certificate(text));
  // Generated before the exclusive create, so the window in which the file is half-written stays tiny.
  const generated = existsSync(path) ? undefined : await selfSigned(key, serial, subject);
  const pem = ensureFile(
    path,
    () => {
      if (generated === undefined) throw new Error(`${path} disappeared while the sandbox was reading it`);
      return generated;
    },
    complete,
  );
  return describeCertificate(pem, key, path);
}

/**
 * The self-signed "platform certificate" over the platform key (what `GET /v3/certificates`
 * hands out, serial ≠ the public key id), and a merchant certificate whose serial is the
 * configured `WECHAT_PAY_CERT_SERIAL` (what merchants put in `serial_no`).
 */
export async function ensureSandboxCertificates(
  paths: SandboxKeyPaths,
  keys: SandboxKeyMaterial,
  merchant: { mchId: string; certSerial: string },
): Promise<SandboxCertificates> {
  const platform = await ensureCertificate(
    paths.platformCertificate,
    keys.platformPrivateKey,
    randomCertificateSerial(),
    'CN=WeChat Pay Sandbox Platform Certificate, O=Sandbox, C=CN',
  );
  let merchantCertificate: SandboxCertificate | undefined;
  if (/^[0-9A-Fa-f]{2,40}$/.test(merchant.certSerial)) {
    merchantCertificate = await ensureCertificate(
      paths.merchantCertificate,
      keys.merchantPrivateKey,
      merchant.certSerial.toUpperCase(),
      `CN=${merchant.mchId.replace(/[^0-9A-Za-z]/g, '') || 'merchant'}, O=Sandbox merchant, C=CN`,
    );
  }
  return { platform, merchant: merchantCertificate };
}

import { execFileSync } from 'node:child_process';
import { createSign, generateKeyPairSync, KeyObject, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { V3SignatureVerifier, V3VerifyInput } from './v3-verifier';

const PUB_KEY_ID = 'PUB_KEY_ID_0114232134912410000000000001';
const CERT_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const BODY =
  '{"id":"EV-2018022511223320873","create_time":"2024-04-25T10:00:00+08:00","event_type":"TRANSACTION.SUCCESS","resource":{"ciphertext":"x"}}';
const NOW = 1_714_036_504;

let workDir: string;
let wechatPayKey: { privateKey: KeyObject; publicKey: KeyObject };
let certPem: string;
let certPrivateKey: string;
let certValidFrom: number;
let certValidTo: number;

beforeAll(() => {
  wechatPayKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // Node cannot issue X509 certificates, so a self-signed platform certificate comes from openssl.
  workDir = mkdtempSync(join(tmpdir(), 'wechat-v3-verifier-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=WeChatPay Platform Test',
      '-set_serial',
      `0x${CERT_SERIAL}`,
      '-keyout',
      join(workDir, 'key.pem'),
      '-out',
      join(workDir, 'cert.pem'),
    ],
    { stdio: 'pipe' },
  );
  certPem = readFileSync(join(workDir, 'cert.pem'), 'utf8');
  certPrivateKey = readFileSync(join(workDir, 'key.pem'), 'utf8');
  const certificate = new X509Certificate(certPem);
  certValidFrom = Date.parse(certificate.validFrom) / 1000;
  certValidTo = Date.parse(certificate.validTo) / 1000;
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** Signs like WeChat does: SHA256withRSA over `timestamp\nnonce\nbody\n`, independently of our code. */
function wechatSign(privateKey: KeyObject | string, timestamp: string, nonce: string, body: string | Buffer): string {
  return createSign('RSA-SHA256')
    .update(Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`), Buffer.from(body), Buffer.from('\n')]))
    .sign(privateKey, 'base64');
}

function verifier(): V3SignatureVerifier {
  const v = new V3SignatureVerifier();
  v.addPublicKey(PUB_KEY_ID, wechatPayKey.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  v.addCertificate(CERT_SERIAL, certPem);
  return v;
}

function publicKeyInput(overrides: Partial<V3VerifyInput> = {}): V3VerifyInput {
  const timestamp = String(NOW);
  const nonce = 'fdasflkja484w9fbvowejfnokwemfsdf';
  return {
    timestamp,
    nonce,
    serial: PUB_KEY_ID,
    body: BODY,
    nowSeconds: NOW,
    signature: wechatSign(wechatPayKey.privateKey, timestamp, nonce, BODY),
    ...overrides,
  };
}

function certificateInput(nowSeconds: number, overrides: Partial<V3VerifyInput> = {}): V3VerifyInput {
  const timestamp = String(nowSeconds);
  const nonce = 'c5ac7061fccab6bf3e254dcf98995b8c';
  return {
    timestamp,
    nonce,
    serial: CERT_SERIAL,
    body: BODY,
    nowSeconds,
    signature: wechatSign(certPrivateKey, timestamp, nonce, BODY),
    ...overrides,
  };
}

describe('V3SignatureVerifier', () => {
  it('accepts a notification signed with the WeChat Pay public key', () => {
    expect(verifier().verify(publicKeyInput())).toEqual({ ok: true });
  });

  it('accepts a notification signed with a platform certificate, alongside the public key', () => {
    const v = verifier();
    const now = certValidFrom + 60;
    expect(v.verify(certificateInput(now))).toEqual({ ok: true });
    expect(v.verify(publicKeyInput())).toEqual({ ok: true });
  });

  it('accepts the raw body as a Buffer, including bytes that are not valid UTF-8', () => {
    const raw = Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const input = publicKeyInput({
      body: raw,
      signature: wechatSign(wechatPayKey.privateKey, String(NOW), 'nonce123', raw),
      nonce: 'nonce123',
    });
    expect(verifier().verify(input)).toEqual({ ok: true });
    // Decoding to a string first would have replaced those bytes and broken the signature.
    expect(verifier().verify({ ...input, body: raw.toString('utf8') })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('knows which serials it holds (certificate serials case-insensitively)', () => {
    const v = verifier();
    expect(v.has(PUB_KEY_ID)).toBe(true);
    expect(v.has(CERT_SERIAL)).toBe(true);
    expect(v.has(CERT_SERIAL.toLowerCase())).toBe(true);
    expect(v.has('PUB_KEY_ID_0000')).toBe(false);
    expect(new V3SignatureVerifier().has(PUB_KEY_ID)).toBe(false);
  });

  it('rejects a flip of any signature byte', () => {
    const v = verifier();
    const input = publicKeyInput();
    const bytes = Buffer.from(input.signature, 'base64');
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] ^= 0x01;
      expect(v.verify({ ...input, signature: tampered.toString('base64') })).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('rejects a flip of any body byte', () => {
    const v = verifier();
    const input = publicKeyInput();
    const bytes = Buffer.from(BODY);
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] ^= 0x01;
      expect(v.verify({ ...input, body: tampered })).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('binds the signature to the timestamp and nonce', () => {
    const v = verifier();
    expect(v.verify(publicKeyInput({ timestamp: String(NOW + 1) }))).toEqual({ ok: false, reason: 'bad_signature' });
    expect(v.verify(publicKeyInput({ nonce: 'fdasflkja484w9fbvowejfnokwemfsdg' }))).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a signature made with a different key than the serial names', () => {
    const v = verifier();
    const signedWithCert = wechatSign(certPrivateKey, String(NOW), 'n', BODY);
    expect(v.verify(publicKeyInput({ nonce: 'n', signature: signedWithCert }))).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects unknown serials', () => {
    expect(verifier().verify(publicKeyInput({ serial: 'PUB_KEY_ID_0114232134912410000000000002' }))).toEqual({
      ok: false,
      reason: 'unknown_serial',
    });
    expect(new V3SignatureVerifier().verify(publicKeyInput())).toEqual({ ok: false, reason: 'unknown_serial' });
  });

  it('accepts timestamps up to 300 s off by default and rejects beyond', () => {
    const v = verifier();
    expect(v.verify(publicKeyInput({ nowSeconds: NOW + 300 }))).toEqual({ ok: true });
    expect(v.verify(publicKeyInput({ nowSeconds: NOW - 300 }))).toEqual({ ok: true });
    expect(v.verify(publicKeyInput({ nowSeconds: NOW + 301 }))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(v.verify(publicKeyInput({ nowSeconds: NOW - 301 }))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(v.verify(publicKeyInput({ nowSeconds: NOW + 60, maxSkewSeconds: 30 }))).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('rejects the WECHATPAY/SIGNTEST/ probe', () => {
    expect(verifier().verify(publicKeyInput({ signature: 'WECHATPAY/SIGNTEST/abcdefghijklmn' }))).toEqual({
      ok: false,
      reason: 'signtest_probe',
    });
  });

  it.each([
    ['an empty signature', { signature: '' }],
    ['an empty serial', { serial: '' }],
    ['an empty nonce', { nonce: '' }],
    ['an empty timestamp', { timestamp: '' }],
    ['a non-digit timestamp', { timestamp: `${NOW}.0` }],
    ['a timestamp with a newline', { timestamp: `${NOW}\n1` }],
    ['a nonce with a newline', { nonce: 'a\nb' }],
    ['a nonce with a space', { nonce: 'a b' }],
    ['a signature that is not base64', { signature: 'not base64!' }],
  ])('reports %s as malformed', (_name, overrides) => {
    expect(verifier().verify(publicKeyInput(overrides))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects a certificate outside its validity period', () => {
    const v = verifier();
    expect(v.verify(certificateInput(certValidTo + 1))).toEqual({ ok: false, reason: 'certificate_expired' });
    expect(v.verify(certificateInput(certValidFrom - 1))).toEqual({ ok: false, reason: 'certificate_expired' });
    expect(v.verify(certificateInput(certValidTo))).toEqual({ ok: true });
  });

  it('looks certificate serials up case-insensitively', () => {
    const now = certValidFrom + 60;
    expect(verifier().verify(certificateInput(now, { serial: CERT_SERIAL.toLowerCase() }))).toEqual({ ok: true });
  });

  it('refuses a certificate labelled with another serial', () => {
    expect(() => new V3SignatureVerifier().addCertificate('408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB', certPem)).toThrow(TypeError);
  });

  it('refuses non-RSA keys and garbage PEM', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() =>
      new V3SignatureVerifier().addPublicKey(PUB_KEY_ID, ec.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    ).toThrow(TypeError);
    expect(() => new V3SignatureVerifier().addPublicKey(PUB_KEY_ID, 'not a pem')).toThrow();
    expect(() => new V3SignatureVerifier().addPublicKey('', wechatPayKey.publicKey)).toThrow(TypeError);
    expect(() => new V3SignatureVerifier().addCertificate(CERT_SERIAL, 'not a pem')).toThrow();
  });
});

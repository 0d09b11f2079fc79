import { spawn } from 'node:child_process';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../../src/config/app-config';
import { ensureSandboxKeys, sandboxKeyPaths } from '../../src/sandbox/pay/sandbox-keys';
import { ROOT, tempDir } from '../setup/test-app';
import { cfg, platformPublicPem, useSandboxApp } from './harness';

/** The sandbox's RSA keys and certificates under <dataDir>/sandbox (docs/sandbox.md). */
useSandboxApp();

describe('sandbox keys', () => {
  it('are created under <dataDir>/sandbox with mode 0600, and the public key file matches the platform key', () => {
    const paths = sandboxKeyPaths(cfg);
    expect(paths.merchantPrivateKey).toBe(join(cfg.dataDir, 'sandbox', 'merchant_private_key.pem'));
    expect(paths.platformPublicKey).toBe(join(cfg.dataDir, 'sandbox', 'wechatpay_public_key.pem'));
    for (const file of [
      paths.merchantPrivateKey,
      paths.platformPrivateKey,
      paths.platformPublicKey,
      paths.platformCertificate,
      paths.merchantCertificate,
    ]) {
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    const platformPrivate = readFileSync(paths.platformPrivateKey, 'utf8');
    const derived = createPublicKey(platformPrivate).export({ type: 'spki', format: 'der' });
    expect(createPublicKey(platformPublicPem).export({ type: 'spki', format: 'der' }).equals(derived)).toBe(true);
    // Reuse: a second pass over the same folder returns the same keys and rewrites nothing.
    const before = readFileSync(paths.merchantPrivateKey, 'utf8');
    const again = ensureSandboxKeys(paths);
    expect(again.merchantPrivateKey.export({ type: 'pkcs8', format: 'pem' })).toBe(before);
    const merchantCert = new X509Certificate(readFileSync(paths.merchantCertificate, 'utf8'));
    expect(merchantCert.serialNumber.toUpperCase()).toBe(cfg.pay.certSerial);
  });

  it('concurrent processes creating the keys in one empty folder all end up with the same keys', async () => {
    const dataDir = tempDir('wx-sandbox-race-');
    // Each child transpiles the TypeScript source on the fly (no build needed) and races the others.
    const child = `
      const ts = require('typescript'); const fs = require('fs'); const crypto = require('crypto');
      require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'), { fileName: f, compilerOptions: {
        module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true, emitDecoratorMetadata: true } }).outputText, f);
      const k = require(${JSON.stringify(join(ROOT, 'src/sandbox/pay/sandbox-keys.ts'))});
      const paths = k.sandboxKeyPaths({ dataDir: ${JSON.stringify(dataDir)}, pay: { privateKeyPath: '', publicKeyPath: '' } });
      const keys = k.ensureSandboxKeys(paths);
      const h = (key) => crypto.createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
      k.ensureSandboxCertificates(paths, keys, { mchId: '1900000109', certSerial: '5A0B0C0D' }).then((c) =>
        console.log(JSON.stringify({ merchant: h(keys.merchantPublicKey), platform: h(keys.platformPublicKey), serial: c.platform.serial })));
    `;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, ['-e', child], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(err))));
      });
    const results = await Promise.all([run(), run(), run(), run()]);
    expect(new Set(results).size).toBe(1);
    const parsed = JSON.parse(results[0]);
    expect(parsed.merchant).not.toBe(parsed.platform);
    const paths = sandboxKeyPaths({ dataDir, pay: { privateKeyPath: '', publicKeyPath: '' } as AppConfig['pay'] });
    const onDisk = createHash('sha256')
      .update(ensureSandboxKeys(paths).platformPublicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    expect(onDisk).toBe(parsed.platform);
  }, 60_000);

  it('a half-written key file left by a racing creator is read once it is complete', async () => {
    const dataDir = tempDir('wx-sandbox-half-');
    const paths = sandboxKeyPaths({ dataDir, pay: { privateKeyPath: '', publicKeyPath: '' } as AppConfig['pay'] });
    const reference = ensureSandboxKeys(
      sandboxKeyPaths({ dataDir: tempDir('wx-sandbox-ref-'), pay: { privateKeyPath: '', publicKeyPath: '' } as AppConfig['pay'] }),
    );
    const pem = reference.merchantPrivateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.merchantPrivateKey, pem.slice(0, 100), { mode: 0o600 }); // the racer has written only a part
    const finisher = spawn(process.execPath, [
      '-e',
      `setTimeout(() => require('fs').writeFileSync(${JSON.stringify(paths.merchantPrivateKey)}, ${JSON.stringify(pem)}), 300)`,
    ]);
    const keys = ensureSandboxKeys(paths); // blocks, retrying the read, until the racer is done
    await new Promise((r) => finisher.on('exit', r));
    expect(keys.merchantPrivateKey.export({ type: 'pkcs8', format: 'pem' })).toBe(pem);
  });
});

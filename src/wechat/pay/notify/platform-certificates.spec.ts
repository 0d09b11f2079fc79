import { KeyObject } from 'node:crypto';
import { PlatformCertificate } from '../../../../test/support/fake-wechat-pay';
import {
  CERT_SERIAL,
  certificatesAnswer,
  createV3World,
  encrypt,
  lowerCaseNames,
  PUB_KEY_ID,
  signHeaders,
  V3World,
} from '../../../../test/support/wechat-pay-v3-unit';
import { certificatesUnderTest } from '../../../../test/support/platform-certificates-under-test';
import type { V3RawResponse } from './platform-certificates';

let world: V3World;
let wechatPay: { privateKey: KeyObject };
let cert: PlatformCertificate;
let strangerCert: PlatformCertificate;

beforeAll(async () => {
  world = await createV3World();
  ({ wechatPay, cert, strangerCert } = world);
});

afterAll(() => world.cleanup());

/** Platform certificates whose download answers with `answer` (our cert, signed by itself). */
function setup(answer?: () => V3RawResponse) {
  return certificatesUnderTest(world, answer);
}

describe('platform certificate download (bootstrap)', () => {
  it('an answer signed by a certificate it contains is accepted when nothing else names that serial', async () => {
    const { certificates, downloads } = setup();
    await certificates.refresh();
    expect(downloads()).toBe(1);
    expect(certificates.certificateSerials()).toEqual([CERT_SERIAL]);
  });

  it('an answer signed with the WeChat Pay public key is accepted', async () => {
    const { certificates } = setup(() => certificatesAnswer([cert], { key: wechatPay.privateKey, serial: PUB_KEY_ID }));
    await certificates.refresh();
    expect(certificates.certificateSerials()).toEqual([CERT_SERIAL]);
  });

  it('an answer signed by a key that is neither known nor in the answer is refused and loads nothing', async () => {
    const { certificates } = setup(() => certificatesAnswer([cert], { key: strangerCert.privateKey, serial: strangerCert.serial }));
    await expect(certificates.refresh()).rejects.toMatchObject({ name: 'PayResponseSignatureError' });
    expect(certificates.certificateSerials()).toEqual([]);
  });

  it('a certificate that does not decrypt with the APIv3 key, or whose serial_no lies, is refused', async () => {
    const tampered = () => {
      const answer = certificatesAnswer([cert], { key: wechatPay.privateKey, serial: PUB_KEY_ID });
      const json = JSON.parse(answer.body.toString());
      json.data[0].encrypt_certificate.ciphertext = encrypt(strangerCert.pem, '0123456789ab', 'certificate', 'c'.repeat(32));
      const body = Buffer.from(JSON.stringify(json));
      return {
        ...answer,
        headers: lowerCaseNames(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID)),
        body,
      };
    };
    await expect(setup(tampered).certificates.refresh()).rejects.toThrow(/auth_failed/);

    const lying = () => {
      const answer = certificatesAnswer([strangerCert], { key: wechatPay.privateKey, serial: PUB_KEY_ID });
      const body = Buffer.from(answer.body.toString().replace(strangerCert.serial, CERT_SERIAL));
      return {
        ...answer,
        headers: lowerCaseNames(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID)),
        body,
      };
    };
    await expect(setup(lying).certificates.refresh()).rejects.toThrow(/serial_no does not match/);
  });
});

import { PlatformCertificates, V3RawResponse, V3Transport } from '../../src/wechat/pay/notify/platform-certificates';
import { CERT_SERIAL, certificatesAnswer, TestClock, V3World } from './wechat-pay-v3-unit';

/**
 * Our PlatformCertificates over a fake download that answers with `answer` (by default WeChat's
 * answer holding the world's certificate, signed by itself) and counts how often it was asked.
 * Shared by the platform-certificate and v3-notification specs.
 */
export function certificatesUnderTest(
  world: V3World,
  answer: () => V3RawResponse = () => certificatesAnswer([world.cert], { key: world.cert.privateKey, serial: CERT_SERIAL }),
): { certificates: PlatformCertificates; clock: TestClock; downloads: () => number } {
  const clock = new TestClock();
  let count = 0;
  const transport: V3Transport = {
    send: () => {
      count++;
      return Promise.resolve(answer());
    },
  };
  return { certificates: new PlatformCertificates(transport, world.config, clock), clock, downloads: () => count };
}

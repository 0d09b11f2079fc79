import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { TradeBillRow } from '../pay.client';
import { PayUnavailableError } from '../pay-errors';
import { parseTradeBill, TradeBillFormatError } from '../wire/trade-bill';
import { MAX_V3_BILL_BYTES } from './v3-transport';

/**
 * The file behind a v3 `download_url`, as downloaded: unsigned, gzip or plain text. It is trusted
 * through the SHA1 the signed `/v3/bill/tradebill` answer gave (`hash_type`, `hash_value`), checked
 * over the unzipped bytes, then parsed. Failures are PayUnavailableError (retry later).
 */
export function readV3BillFile(file: Buffer, hashType: string | undefined, hashValue: string | undefined): TradeBillRow[] {
  let bytes = file;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_V3_BILL_BYTES });
    } catch {
      throw new PayUnavailableError('v3/billdownload/file: gzip data unreadable');
    }
  }
  if (hashType && hashValue) {
    if (hashType.toUpperCase() !== 'SHA1') throw new PayUnavailableError(`v3/bill/tradebill: unsupported hash_type ${hashType}`);
    if (createHash('sha1').update(bytes).digest('hex') !== hashValue.toLowerCase()) {
      throw new PayUnavailableError('v3/billdownload/file: the bill does not match its hash_value');
    }
  }
  try {
    return parseTradeBill(bytes.toString('utf8'));
  } catch (err) {
    if (err instanceof TradeBillFormatError) throw new PayUnavailableError(`v3/billdownload/file: ${err.message}`);
    throw err;
  }
}

import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Clock } from '../../../common/clock';
import { SandboxReply } from '../../core/sandbox-reply';
import { BILL_DOWNLOAD_TTL_MS } from '../../core/sandbox.constants';
import { SandboxStore } from '../../core/sandbox.store';
import { SandboxBillsService } from '../sandbox-bills.service';
import { SandboxV3Replies } from './sandbox-v3-replies.service';

/** APIv3 trade bills: `GET /v3/bill/tradebill` names a short-lived file, `GET /v3/billdownload/file` serves it. */
@Injectable()
export class SandboxV3BillsService {
  constructor(
    private readonly store: SandboxStore,
    private readonly bills: SandboxBillsService,
    private readonly replies: SandboxV3Replies,
    private readonly clock: Clock,
  ) {}

  /**
   * `GET /v3/bill/tradebill?bill_date=&bill_type=&tar_type=`: the signed answer names the file's
   * SHA1 (of the uncompressed bill) and a short-lived `download_url` on the host the request came
   * to; the file itself (`/v3/billdownload/file`) is not signed.
   */
  tradeBill(query: Record<string, unknown>, downloadBase: string): SandboxReply {
    const date = query.bill_date;
    if (typeof date !== 'string' || date === '') return this.replies.missing('bill_date', 'query');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)))
      return this.replies.error(400, 'PARAM_ERROR', 'bill_date格式错误');
    if (!this.bills.isServable(date)) return this.replies.error(400, 'INVALID_REQUEST', '账单日期不能晚于今天');
    const type = query.bill_type === undefined ? 'ALL' : query.bill_type;
    if (type !== 'ALL' && type !== 'SUCCESS' && type !== 'REFUND') return this.replies.error(400, 'PARAM_ERROR', 'bill_type参数错误');
    const tar = query.tar_type;
    if (tar !== undefined && tar !== 'GZIP') return this.replies.error(400, 'PARAM_ERROR', 'tar_type参数错误');
    const text = this.bills.text(date, type);
    if (text === null) return this.replies.error(400, 'NO_STATEMENT_EXIST', '账单文件不存在');
    const plain = Buffer.from(text, 'utf8');
    const token = randomBytes(16).toString('hex');
    this.store.addBillFile(token, {
      bytes: tar === 'GZIP' ? gzipSync(plain) : plain,
      gzip: tar === 'GZIP',
      expiresAt: this.clock.nowMs() + BILL_DOWNLOAD_TTL_MS,
    });
    return this.replies.signedJson(200, {
      hash_type: 'SHA1',
      hash_value: createHash('sha1').update(plain).digest('hex'),
      download_url: `${downloadBase}/v3/billdownload/file?token=${token}`,
    });
  }

  /** `GET /v3/billdownload/file?token=`: the bill bytes, unsigned (checked by hash_value). */
  billFile(token: unknown): SandboxReply {
    const file = typeof token === 'string' ? this.store.billFiles.get(token) : undefined;
    if (!file || file.expiresAt < this.clock.nowMs()) return this.replies.error(400, 'INVALID_REQUEST', 'token无效或已过期');
    this.store.count('bills_downloaded');
    return { status: 200, headers: { 'Content-Type': file.gzip ? 'application/x-gzip' : 'text/plain; charset=utf-8' }, body: file.bytes };
  }
}

import { Injectable } from '@nestjs/common';
import { gzipSync } from 'node:zlib';
import { SandboxReply } from '../../core/sandbox-reply';
import { SandboxStore } from '../../core/sandbox.store';
import { BILL_TYPES, SandboxBillsService } from '../sandbox-bills.service';
import { SandboxV2Replies, V2Fields, xmlReply } from './sandbox-v2-replies.service';

/** v2 trade bills: `pay/downloadbill` (requests already past SandboxPayV2Service's checks). */
@Injectable()
export class SandboxV2BillsService {
  constructor(
    private readonly store: SandboxStore,
    private readonly bills: SandboxBillsService,
    private readonly replies: SandboxV2Replies,
  ) {}

  /**
   * `pay/downloadbill`: the bill text itself (gzip with `tar_type=GZIP`), unsigned, as WeChat sends
   * it; refusals are `<xml>` with return_code FAIL, return_msg and error_code ("No Bill Exist" for
   * a day without a line).
   */
  downloadBill(f: V2Fields): SandboxReply {
    const billFail = (message: string, code: string) => xmlReply({ return_code: 'FAIL', return_msg: message, error_code: code });
    if (!f.bill_date) return this.replies.fail('缺少参数bill_date');
    const m = /^(\d{4})(\d{2})(\d{2})$/.exec(f.bill_date);
    const date = m ? `${m[1]}-${m[2]}-${m[3]}` : '';
    if (!m || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || !this.bills.isServable(date)) return billFail('invalid bill_date', '20001');
    const type = f.bill_type || 'ALL';
    if (!BILL_TYPES.includes(type)) return billFail('invalid bill_type', '20001');
    if (f.tar_type && f.tar_type !== 'GZIP') return billFail('invalid tar_type', '20001');
    const text = this.bills.text(date, type);
    if (text === null) return billFail('No Bill Exist', '20002');
    this.store.count('bills_downloaded');
    if (f.tar_type === 'GZIP')
      return { status: 200, headers: { 'Content-Type': 'application/x-gzip' }, body: gzipSync(Buffer.from(text, 'utf8')) };
    return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: text };
  }
}

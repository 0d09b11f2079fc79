import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { rawBodyOf, SandboxRequest } from '../core/sandbox-body';
import { SandboxFaultsService } from '../core/sandbox-faults.service';
import { SandboxReply, sendReply } from '../core/sandbox-reply';
import { SandboxPayV2Service, V2Endpoint } from './v2/sandbox-pay-v2.service';
import { SandboxV3AuthService } from './v3/sandbox-v3-auth.service';
import { SandboxV3BillsService } from './v3/sandbox-v3-bills.service';
import { SandboxV3CertificatesService } from './v3/sandbox-v3-certificates.service';
import { SandboxV3RefundsService } from './v3/sandbox-v3-refunds.service';
import { SandboxV3TransactionsService } from './v3/sandbox-v3-transactions.service';

/**
 * WeChat Pay (api.mch.weixin.qq.com) under `/sandbox/pay`: v2 XML at `/sandbox/pay/pay/*` and
 * `/sandbox/pay/secapi/pay/refund`, APIv3 JSON at `/sandbox/pay/v3/*` (payments, refunds, trade
 * bills). Every route passes the `pay` fault gate first.
 */
@ApiExcludeController()
@Controller('sandbox/pay')
export class SandboxPayController {
  constructor(
    private readonly faults: SandboxFaultsService,
    private readonly v2: SandboxPayV2Service,
    private readonly v3Auth: SandboxV3AuthService,
    private readonly v3Transactions: SandboxV3TransactionsService,
    private readonly v3Refunds: SandboxV3RefundsService,
    private readonly v3Bills: SandboxV3BillsService,
    private readonly v3Certificates: SandboxV3CertificatesService,
  ) {}

  @Post('pay/unifiedorder')
  unifiedOrder(@Req() req: SandboxRequest, @Res() res: Response) {
    return this.v2Call('unifiedorder', req, res);
  }

  @Post('pay/orderquery')
  orderQuery(@Req() req: SandboxRequest, @Res() res: Response) {
    return this.v2Call('orderquery', req, res);
  }

  @Post('pay/closeorder')
  closeOrder(@Req() req: SandboxRequest, @Res() res: Response) {
    return this.v2Call('closeorder', req, res);
  }

  @Post('v3/pay/transactions/jsapi')
  jsapi(@Req() req: SandboxRequest, @Res() res: Response) {
    return this.v3Call(req, res, (body) => this.v3Transactions.jsapi(body));
  }

  @Get('v3/pay/transactions/out-trade-no/:no')
  queryByOutTradeNo(@Req() req: SandboxRequest, @Res() res: Response, @Param('no') no: string, @Query('mchid') mchid: unknown) {
    return this.v3Call(req, res, () => this.v3Transactions.query('out_trade_no', no, mchid));
  }

  @Get('v3/pay/transactions/id/:id')
  queryByTransactionId(@Req() req: SandboxRequest, @Res() res: Response, @Param('id') id: string, @Query('mchid') mchid: unknown) {
    return this.v3Call(req, res, () => this.v3Transactions.query('transaction_id', id, mchid));
  }

  @Post('v3/pay/transactions/out-trade-no/:no/close')
  close(@Req() req: SandboxRequest, @Res() res: Response, @Param('no') no: string) {
    return this.v3Call(req, res, (body) => this.v3Transactions.close(no, body));
  }

  @Get('v3/certificates')
  certificates(@Req() req: SandboxRequest, @Res() res: Response) {
    return this.v3Call(req, res, () => this.v3Certificates.certificates());
  }

  /** WeChat demands the merchant's TLS client certificate here; the sandbox (plain HTTP) checks the sign only. */
  @Post('secapi/pay/refund')
  refundV2(@Req() req: SandboxRequest, @Res() res: Response) {
    return this.v2Call('refund', req, res);
  }

  @Post('pay/refundquery')
  refundQueryV2(@Req() req: SandboxRequest, @Res() res: Response) {
    return this.v2Call('refundquery', req, res);
  }

  @Post('pay/downloadbill')
  downloadBillV2(@Req() req: SandboxRequest, @Res() res: Response) {
    return this.v2Call('downloadbill', req, res);
  }

  @Post('v3/refund/domestic/refunds')
  refundV3(@Req() req: SandboxRequest, @Res() res: Response) {
    return this.v3Call(req, res, (body) => this.v3Refunds.refund(body));
  }

  @Get('v3/refund/domestic/refunds/:no')
  queryRefundV3(@Req() req: SandboxRequest, @Res() res: Response, @Param('no') no: string) {
    return this.v3Call(req, res, () => this.v3Refunds.queryRefund(no));
  }

  @Get('v3/bill/tradebill')
  tradeBill(@Req() req: SandboxRequest, @Res() res: Response, @Query() query: Record<string, unknown>) {
    // download_url points back at the host and mount path this request used.
    const path = req.originalUrl.split('?')[0];
    const base = `${req.protocol}://${req.headers.host ?? '127.0.0.1'}${path.slice(0, path.length - '/v3/bill/tradebill'.length)}`;
    return this.v3Call(req, res, () => this.v3Bills.tradeBill(query, base));
  }

  @Get('v3/billdownload/file')
  billFile(@Req() req: SandboxRequest, @Res() res: Response, @Query('token') token: unknown) {
    return this.v3Call(req, res, () => this.v3Bills.billFile(token));
  }

  private async v2Call(endpoint: V2Endpoint, req: SandboxRequest, res: Response): Promise<void> {
    if (!(await this.faults.pass('pay', req))) return;
    sendReply(res, await this.v2.handle(endpoint, await rawBodyOf(req)));
  }

  /** Fault gate → Authorization over the exact bytes → the call with the parsed JSON body. */
  private async v3Call(req: SandboxRequest, res: Response, run: (body: unknown) => SandboxReply): Promise<void> {
    if (!(await this.faults.pass('pay', req))) return;
    const raw = await rawBodyOf(req);
    const refused = this.v3Auth.authenticate(req, raw);
    if (refused) return sendReply(res, refused);
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = null;
      }
    }
    sendReply(res, run(body));
  }
}

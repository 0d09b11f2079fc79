import { Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { INVALID_JSON, jsonBodyOf, SandboxRequest } from '../core/sandbox-body';
import { FaultArea, SandboxFaultsService } from '../core/sandbox-faults.service';
import { json, sendReply } from '../core/sandbox-reply';
import { SandboxMenuService } from './sandbox-menu.service';
import { SandboxMpService } from './sandbox-mp.service';
import { SandboxOAuthService } from './sandbox-oauth.service';
import { SandboxQrService } from './sandbox-qr.service';
import { SandboxTokenService } from './sandbox-token.service';
import { SandboxUsersService } from './sandbox-users.service';
import { wxError } from './sandbox-wx-errors';

type QueryParams = Record<string, unknown>;

/**
 * The official-account side of WeChat: `/sandbox/api` (api.weixin.qq.com), `/sandbox/open`
 * (open.weixin.qq.com) and `/sandbox/mp` (mp.weixin.qq.com). WeChat answers API errors with HTTP 200
 * and `{errcode, errmsg}`, and so does the sandbox.
 */
@ApiExcludeController()
@Controller('sandbox')
export class SandboxWechatController {
  constructor(
    private readonly faults: SandboxFaultsService,
    private readonly tokens: SandboxTokenService,
    private readonly oauth: SandboxOAuthService,
    private readonly qr: SandboxQrService,
    private readonly menu: SandboxMenuService,
    private readonly users: SandboxUsersService,
    private readonly mp: SandboxMpService,
  ) {}

  @Get('api/cgi-bin/token')
  async token(@Req() req: SandboxRequest, @Res() res: Response, @Query() query: QueryParams) {
    if (await this.faults.pass('token', req)) sendReply(res, json(this.tokens.token(query)));
  }

  @Post('api/cgi-bin/stable_token')
  async stableToken(@Req() req: SandboxRequest, @Res() res: Response) {
    if (!(await this.faults.pass('token', req))) return;
    const body = await jsonBodyOf(req);
    sendReply(res, json(body === INVALID_JSON ? wxError(47001) : this.tokens.stableToken(body)));
  }

  @Get('api/sns/oauth2/access_token')
  async oauthToken(@Req() req: SandboxRequest, @Res() res: Response, @Query() query: QueryParams) {
    if (await this.faults.pass('api', req)) sendReply(res, json(this.oauth.exchange(query)));
  }

  @Post('api/cgi-bin/qrcode/create')
  async createQr(@Req() req: SandboxRequest, @Res() res: Response, @Query() query: QueryParams) {
    await this.withToken(req, res, query, 'api', async () => {
      const body = await jsonBodyOf(req);
      return body === INVALID_JSON ? wxError(47001) : this.qr.create(body);
    });
  }

  @Post('api/cgi-bin/menu/create')
  async createMenu(@Req() req: SandboxRequest, @Res() res: Response, @Query() query: QueryParams) {
    await this.withToken(req, res, query, 'api', async () => {
      const body = await jsonBodyOf(req);
      return body === INVALID_JSON ? wxError(47001) : this.menu.create(body);
    });
  }

  @Get('api/cgi-bin/menu/get')
  async getMenu(@Req() req: SandboxRequest, @Res() res: Response, @Query() query: QueryParams) {
    await this.withToken(req, res, query, 'api', () => this.menu.get());
  }

  @Get('api/cgi-bin/menu/delete')
  async deleteMenu(@Req() req: SandboxRequest, @Res() res: Response, @Query() query: QueryParams) {
    await this.withToken(req, res, query, 'api', () => this.menu.delete());
  }

  @Get('api/cgi-bin/user/info')
  async userInfo(@Req() req: SandboxRequest, @Res() res: Response, @Query() query: QueryParams) {
    await this.withToken(req, res, query, 'api', () => this.users.userInfo(query));
  }

  @Get('open/connect/oauth2/authorize')
  authorize(@Res() res: Response, @Query() query: QueryParams) {
    sendReply(res, this.oauth.authorize(query));
  }

  @Get('mp/cgi-bin/showqrcode')
  showQr(@Res() res: Response, @Query() query: QueryParams) {
    sendReply(res, this.mp.showQr(query));
  }

  /** Fault gate, then the access_token check every WeChat API call goes through, then the call. */
  private async withToken(
    req: SandboxRequest,
    res: Response,
    query: QueryParams,
    area: FaultArea,
    run: () => object | Promise<object>,
  ): Promise<void> {
    if (!(await this.faults.pass(area, req))) return;
    const error = this.tokens.check(query.access_token);
    sendReply(res, json(error ?? (await run())));
  }
}

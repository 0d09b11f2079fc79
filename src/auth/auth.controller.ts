import { Body, Controller, Get, HttpCode, Post, Query, Res, UseGuards } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { SkipThrottle, ThrottlerGuard } from '@nestjs/throttler';
import type { Response } from 'express';
import { OAuthStartQueryDto, SessionResponseDto, WechatOAuthQueryDto } from './dto/oauth.dto';
import { CheckFollowQueryDto, FollowStatusResponseDto, QrCodeRequestDto, QrCodeResponseDto } from './dto/qrcode.dto';
import { FollowStatusView, QrBindingService, QrCodeView } from './qr-binding.service';
import { SessionView, WechatOAuthService } from './wechat-oauth.service';

/** Page login through WeChat OAuth and the desktop app's QR binding. Limited per IP. */
@ApiTags('auth')
@Controller('api/v1/auth/wechat')
@UseGuards(ThrottlerGuard)
@SkipThrottle({ qrPerClient: true })
@ApiTooManyRequestsResponse({ description: '{"detail":"请求过于频繁，请稍后再试"}' })
export class AuthController {
  constructor(
    private readonly oauth: WechatOAuthService,
    private readonly qr: QrBindingService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Exchange a WeChat OAuth code (snsapi_base) for a session token' })
  @ApiOkResponse({ type: SessionResponseDto })
  @ApiBadRequestResponse({ description: '{"detail":"缺少code参数"} or WeChat\'s errmsg (invalid, expired or reused code)' })
  @ApiBadGatewayResponse({ description: '{"detail":"授权失败"}: WeChat unreachable' })
  login(@Query() query: WechatOAuthQueryDto): Promise<SessionView> {
    return this.oauth.login(query.code);
  }

  @Get('authorize')
  @ApiOperation({
    summary: "A member page's login: 302 to WeChat's OAuth, which comes back to the page with a code and the page's own state",
  })
  @ApiFoundResponse({ description: 'Location: WeChat authorize URL (snsapi_base) → `/wechat/<page>.html?code=…&state=<state>`' })
  @ApiBadRequestResponse({ description: 'unknown page or a state that is not 16-128 letters or digits' })
  authorize(@Query() query: OAuthStartQueryDto, @Res() res: Response): void {
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, this.oauth.authorizeUrl(query.page, query.state));
  }

  @Post('qrcode')
  @HttpCode(200)
  @SkipThrottle({ qrPerClient: false })
  @ApiOperation({
    summary:
      "The desktop's binding QR code: its current one while more than half its lifetime is left, else a new one (10/min per client_id)",
  })
  @ApiOkResponse({ type: QrCodeResponseDto })
  @ApiBadRequestResponse({ description: '{"detail":"client_id格式错误"}' })
  @ApiBadGatewayResponse({ description: '{"detail":"生成二维码失败"}' })
  qrcode(@Body() body: QrCodeRequestDto): Promise<QrCodeView> {
    return this.qr.qrCodeFor(body.client_id);
  }

  @Get('check-follow')
  @ApiOperation({ summary: "Whether the desktop's binding belongs to a user who follows the account now" })
  @ApiOkResponse({ type: FollowStatusResponseDto })
  @ApiBadRequestResponse({ description: '{"detail":"client_id格式错误"}' })
  checkFollow(@Query() query: CheckFollowQueryDto): Promise<FollowStatusView> {
    return this.qr.followStatus(query.client_id);
  }
}

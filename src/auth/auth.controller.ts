import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBadGatewayResponse, ApiBadRequestResponse, ApiFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { OAuthStartQueryDto, SessionResponseDto, WechatOAuthQueryDto } from './dto/oauth.dto';
import { SessionView, WechatOAuthService } from './wechat-oauth.service';
import { LimitedPerIp } from '../common/limited-per-ip';

/** Page login through WeChat OAuth (the desktop's QR binding is binding/qr-binding.controller.ts). Limited per IP. */
@ApiTags('auth')
@Controller('api/v1/auth/wechat')
@LimitedPerIp()
export class AuthController {
  constructor(private readonly oauth: WechatOAuthService) {}

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
}

import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBadGatewayResponse, ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { CheckFollowQueryDto, FollowStatusResponseDto, QrCodeRequestDto, QrCodeResponseDto } from './dto/qrcode.dto';
import { FollowStatusView, QrBindingService, QrCodeView } from './qr-binding.service';
import { LimitedPerIp } from '../common/limited-per-ip';

/**
 * The desktop app's QR binding: its code, and the "has my user followed?" poll. Under the auth
 * prefix the desktop has always called; limited per IP, and code creation also per client_id.
 */
@ApiTags('auth')
@Controller('api/v1/auth/wechat')
@LimitedPerIp()
export class QrBindingController {
  constructor(private readonly qr: QrBindingService) {}

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

import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { ADMIN_KEY_HEADER, AdminKeyGuard } from '../common/admin-key.guard';
import { RateLimitGuard } from '../common/rate-limit.guard';
import { CreateMenuDto, CreateMenuResponseDto, GetMenuResponseDto } from './dto/menu.dto';
import { CreateMenuView, GetMenuView, MenuService } from './menu.service';

/** The official account's menu (admin, `X-Admin-Key`). */
@ApiTags('admin')
@Controller('api/v1/auth/wechat')
@UseGuards(RateLimitGuard, AdminKeyGuard)
@SkipThrottle({ qrPerClient: true })
@ApiHeader({ name: ADMIN_KEY_HEADER, required: true, description: 'ADMIN_API_KEY' })
@ApiForbiddenResponse({ description: '{"detail":"管理接口未启用"}: no ADMIN_API_KEY configured' })
@ApiUnauthorizedResponse({ description: '{"detail":"管理密钥错误"}' })
@ApiBadGatewayResponse({ description: 'WeChat refused or unreachable' })
export class MenuController {
  constructor(private readonly menus: MenuService) {}

  @Get('get-menu')
  @ApiOperation({ summary: "The account's current menu as WeChat reports it" })
  @ApiOkResponse({ type: GetMenuResponseDto })
  getMenu(): Promise<GetMenuView> {
    return this.menus.get();
  }

  @Post('create-menu')
  @HttpCode(200)
  @ApiOperation({ summary: 'Publish the menu built from config (or the `menu` of the body); replaces the old one atomically' })
  @ApiOkResponse({ type: CreateMenuResponseDto })
  createMenu(@Body() body: CreateMenuDto): Promise<CreateMenuView> {
    return this.menus.create(body.menu);
  }
}

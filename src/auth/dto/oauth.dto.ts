import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { MEMBER_PAGES, MemberPage } from '../wechat-oauth.service';

export const MISSING_CODE_DETAIL = '缺少code参数';
const missingCode = { context: { detail: MISSING_CODE_DETAIL } };

export class WechatOAuthQueryDto {
  @ApiProperty({ description: 'The OAuth code WeChat appended to the redirect (single use, 5 minutes)' })
  @MaxLength(512)
  @IsNotEmpty(missingCode)
  @IsString(missingCode)
  code!: string;

  @ApiPropertyOptional({ description: 'Echoed by WeChat: the page checks it against the state it issued; not used by the server' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  state?: string;
}

export class SessionResponseDto {
  @ApiProperty({ example: true }) success!: true;
  @ApiProperty({ example: 'oAbCdEfGhIjKlMnOpQrStUvWxYz0' }) openid!: string;
  @ApiProperty({ description: 'HS256 JWT; send as `Authorization: Bearer <token>`' }) token!: string;
  @ApiProperty({ example: 7200, description: 'Token lifetime in seconds (SESSION_TTL_SECONDS)' }) expires_in!: number;
}

/** `state`: what the page keeps in sessionStorage and WeChat echoes back (WeChat allows a-zA-Z0-9, up to 128). */
export const OAUTH_STATE_PATTERN = /^[A-Za-z0-9]{16,128}$/;

export class OAuthStartQueryDto {
  @ApiProperty({ enum: MEMBER_PAGES, description: 'The member page WeChat sends the user back to (`/wechat/<page>.html`)' })
  @IsIn(MEMBER_PAGES)
  page!: MemberPage;

  @ApiProperty({ description: 'The unguessable state the page generated and kept (16-128 letters or digits)' })
  @IsString()
  @Matches(OAUTH_STATE_PATTERN, { message: 'state must be 16-128 letters or digits' })
  state!: string;
}

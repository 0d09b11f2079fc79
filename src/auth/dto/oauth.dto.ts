import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

export const MISSING_CODE_DETAIL = '缺少code参数';
const missingCode = { context: { detail: MISSING_CODE_DETAIL } };

export class WechatOAuthQueryDto {
  @ApiProperty({ description: 'The OAuth code WeChat appended to the redirect (single use, 5 minutes)' })
  @MaxLength(512)
  @IsNotEmpty(missingCode)
  @IsString(missingCode)
  code!: string;

  @ApiPropertyOptional({ description: 'Echoed by WeChat (member | credits | credits_info); not used by the server' })
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

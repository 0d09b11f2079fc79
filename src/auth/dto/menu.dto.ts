import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional } from 'class-validator';

/** Body of `POST /auth/wechat/create-menu`: empty for the menu built from config, or an override. */
export class CreateMenuDto {
  @ApiPropertyOptional({
    description: 'A complete WeChat menu (`{"button":[...]}`) to publish instead of the one built from config',
    type: 'object',
    additionalProperties: true,
  })
  @IsOptional()
  @IsObject()
  menu?: Record<string, unknown>;
}

export class CreateMenuResponseDto {
  @ApiProperty({ example: true }) success!: true;
  @ApiProperty({ example: '菜单创建成功' }) message!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) menu_structure!: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { errcode: 0, errmsg: 'ok' } }) wechat_response!: Record<
    string,
    unknown
  >;
}

export class GetMenuResponseDto {
  @ApiProperty({ example: true }) success!: true;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) menu!: unknown;
  @ApiProperty({ nullable: true, description: "WeChat's conditional menus, when any" }) conditionalmenu!: unknown;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, Max, Min, ValidateIf } from 'class-validator';

const INVALID_TYPE = { context: { detail: '无效的订单类型' } };
const INVALID_PACKAGE = { context: { detail: '无效的额度套餐' } };

/** create-order body (docs/api.md): other fields are ignored; credits_amount must be a JSON integer. */
export class CreateOrderDto {
  @ApiProperty({ enum: ['member', 'credits'] })
  @IsIn(['member', 'credits'], INVALID_TYPE)
  order_type!: 'member' | 'credits';

  @ApiPropertyOptional({ description: 'credits of a configured package; required for credits orders', example: 10 })
  @ValidateIf((o: CreateOrderDto) => o.order_type === 'credits')
  @IsInt(INVALID_PACKAGE)
  @Min(1, INVALID_PACKAGE)
  @Max(1_000_000, INVALID_PACKAGE)
  credits_amount?: number;
}

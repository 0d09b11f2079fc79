import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

const LIMIT_MESSAGE = 'must be 1-100';
const BEFORE_ID_MESSAGE = 'must be a positive integer';

/**
 * Query strings arrive as text: only plain decimal digits become numbers; anything else ("abc",
 * "1.5", "-3", a repeated parameter) stays as it came and fails the integer check with the
 * field's message.
 */
const toInteger = ({ value }: { value: unknown }) => (typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value);

class PageQuery {
  @ApiPropertyOptional({ description: 'Only entries with a smaller id (the last id of the previous page)', minimum: 1, type: 'integer' })
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: BEFORE_ID_MESSAGE })
  @Min(1, { message: BEFORE_ID_MESSAGE })
  @Max(Number.MAX_SAFE_INTEGER, { message: BEFORE_ID_MESSAGE })
  before_id?: number;
}

/** `GET /user/credits-usage?limit=20&before_id=` */
export class CreditsUsageQueryDto extends PageQuery {
  @ApiPropertyOptional({ default: 20, minimum: 1, maximum: 100, type: 'integer' })
  @Transform(toInteger)
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(100, { message: LIMIT_MESSAGE })
  limit: number = 20;
}

/** `GET /user/credits-ledger?limit=50&before_id=` */
export class CreditsLedgerQueryDto extends PageQuery {
  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 100, type: 'integer' })
  @Transform(toInteger)
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(100, { message: LIMIT_MESSAGE })
  limit: number = 50;
}

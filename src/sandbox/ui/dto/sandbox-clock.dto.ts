import { IsInt, Max, Min } from 'class-validator';

/** `POST /sandbox/clock`: how far to move the app's clock, up to a year either way. */
export class ClockDto {
  @IsInt()
  @Min(-366 * 86400)
  @Max(366 * 86400)
  advance_seconds: number;
}

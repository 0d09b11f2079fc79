import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { MetricsGuard } from './metrics.guard';
import { MetricsService } from './metrics.service';

/** `GET /api/v1/internal/metrics`: Prometheus text; blocked at the proxies like all of /internal. */
@ApiExcludeController()
@Controller('api/v1/internal/metrics')
@UseGuards(MetricsGuard)
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  render(): Promise<string> {
    return this.metrics.render();
  }
}

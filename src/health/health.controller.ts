import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthService } from './health.service';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('api/v1/health')
  @ApiOperation({ summary: 'Liveness and database reachability (503 when the database is down)' })
  async check(@Res({ passthrough: true }) res: Response) {
    const report = await this.health.report();
    res.status(report.status === 'unhealthy' ? 503 : 200);
    res.setHeader('Cache-Control', 'no-store');
    return report;
  }

  @Get()
  @ApiOperation({ summary: 'Service identity' })
  root() {
    return this.health.identity();
  }
}

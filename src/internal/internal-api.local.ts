import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';
import { InternalApi, InternalHealth } from './internal-api';

/** In-process adapter (roles `all` and `app`): direct calls, no HTTP, no serialisation. */
@Injectable()
export class LocalInternalApi extends InternalApi {
  constructor(private readonly db: DatabaseService) {
    super();
  }

  async health(): Promise<InternalHealth> {
    return { success: true, database: (await this.db.ping()) ? 'connected' : 'disconnected' };
  }
}

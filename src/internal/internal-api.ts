/**
 * The port the WeChat callback controllers depend on (internal.md). Two implementations: the
 * local adapter calls this process's services; the HTTP adapter calls the app server's
 * `/api/v1/internal/*` endpoints, signed. Which one is bound is configuration only.
 */
export interface InternalHealth {
  success: boolean;
  database: 'connected' | 'disconnected';
}

export abstract class InternalApi {
  abstract health(): Promise<InternalHealth>;
}

import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppConfig } from '../../config/app-config';

/**
 * Where each real host's paths live under the `/sandbox` mount. api.weixin.qq.com, open.weixin.qq.com,
 * mp.weixin.qq.com and api.mch.weixin.qq.com do not share a path prefix except `/cgi-bin`, where
 * only mp serves `showqrcode`; `/sandbox/*` itself (pages, actions, knobs) passes through.
 */
const HOST_ROUTES: ReadonlyArray<[RegExp, string]> = [
  [/^\/cgi-bin\/showqrcode(?=[/?]|$)/, '/sandbox/mp'],
  [/^\/(?:cgi-bin|sns)\//, '/sandbox/api'],
  [/^\/connect\//, '/sandbox/open'],
  [/^\/(?:pay|secapi|v3)\//, '/sandbox/pay'],
  [/^\/sandbox(?=[/?]|$)/, ''],
];

/** The `/sandbox` path that serves `url` as the real hosts would, or null when no host serves it. */
export function sandboxPathFor(url: string): string | null {
  for (const [pattern, mount] of HOST_ROUTES) if (pattern.test(url)) return mount + url;
  return null;
}

/**
 * The sandbox's hosts listener (SANDBOX_HOSTS_PORT): a second port that serves the simulated WeChat
 * and WeChat Pay APIs at `/`, as the real hosts do, so an SDK that only lets you change its base URL
 * (and signs the path relative to it, as wechatpay-node-v3 does) works unmodified.
 *
 * Requests go to the same Express application, rewritten to their `/sandbox/...` route; the path the
 * client used stays in `req.originalUrl` (Express keeps a value set before routing), which is what
 * the v3 Authorization check and bill download URLs read — so a client signs the path it sent.
 * Nothing else of the application is reachable on this port.
 */
@Injectable()
export class SandboxHostsServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Sandbox');
  private server: Server | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** `http://host:port` of the listener, or null when SANDBOX_HOSTS_PORT is unset. */
  get url(): string | null {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? `http://${this.config.http.host}:${address.port}` : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.wechat.sandboxHostsPort;
    if (port === null) return;
    const app = this.adapterHost.httpAdapter.getInstance<(req: IncomingMessage, res: ServerResponse) => void>();
    const server = createServer((req: IncomingMessage & { originalUrl?: string }, res) => {
      const wire = req.url ?? '/';
      const mounted = sandboxPathFor(wire);
      if (mounted === null) {
        res
          .writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' })
          .end(JSON.stringify({ code: 'NOT_FOUND', message: 'no WeChat API at this path' }));
        return;
      }
      req.originalUrl = wire;
      req.url = mounted;
      app(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.http.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`WeChat hosts at ${this.url}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

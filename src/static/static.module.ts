import { Module } from '@nestjs/common';
import { ServeStaticModule, ServeStaticModuleOptions } from '@nestjs/serve-static';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { consoleCsp, originOf, setConsoleHeaders } from '../console/console-headers';
import { findPublicDir } from './public-dir';
import { StaticController } from './static.controller';

/** A week for assets requested with a version (`app.js?v=3`); anything else revalidates. */
const VERSIONED_MAX_AGE_SECONDS = 7 * 24 * 3600;

/**
 * `public/` served at `/` (the pages under /wechat/, the operator's `MP_verify_*.txt` at the root),
 * data roles only (docs/api.md "Static pages"). No SPA fallback: serve-static's catch-all render route is
 * given a pattern that matches nothing, so an unknown path (`/api/typo` included) falls through to
 * the JSON 404; no index files, so `/` stays the health controller's JSON. Dotfiles and path
 * traversal fall through to that 404 too (fallthrough keeps express.static from answering errors).
 */
@Module({
  imports: [
    // Resolved when a data role boots, not when this file is imported (role web never needs it).
    ServeStaticModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => [publicFiles(findPublicDir(), consoleCsp(originOf(config.wechat.mpBase)))],
    }),
  ],
  controllers: [StaticController],
})
export class StaticModule {}

function publicFiles(rootPath: string, consolePageCsp: string): ServeStaticModuleOptions {
  return {
    rootPath,
    renderPath: /(?!)/, // never matches: no index.html fallback for unknown paths
    serveStaticOptions: {
      index: false,
      redirect: false,
      fallthrough: true,
      dotfiles: 'ignore',
      cacheControl: false,
      setHeaders: (res: Response, path: string) => {
        res.setHeader('X-Content-Type-Options', 'nosniff');
        const req = (res as Response & { req: Request }).req;
        // The operator console's files: never cached, its own CSP (docs/operator-guide.md).
        if (req.originalUrl.startsWith('/admin/')) return setConsoleHeaders(res, consolePageCsp);
        if (/\.html?$/i.test(path) || !/[?&]v=/.test(req.originalUrl)) res.setHeader('Cache-Control', 'no-cache');
        else res.setHeader('Cache-Control', `public, max-age=${VERSIONED_MAX_AGE_SECONDS}`);
      },
    },
  };
}

import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';

/**
 * Loads the sandbox's WeixinJSBridge in an ordinary browser (docs/sandbox.md). `document.write` keeps
 * it synchronous while the page is being parsed, so the bridge exists before the shared script
 * runs; late loads fall back to a script element (the bridge then fires WeixinJSBridgeReady).
 */
export const SANDBOX_ENV_JS = `/* WeChat sandbox (development only): load the simulated WeixinJSBridge. */
(function () {
  var src = '/sandbox/jsbridge.js';
  if (document.readyState === 'loading') {
    document.write('<script src="' + src + '"><\\/script>');
  } else {
    var s = document.createElement('script');
    s.src = src;
    document.head.appendChild(s);
  }
})();
`;

/** `/wechat/env.js` and the `/wechat/` entry redirect; the files themselves come from serve-static. */
@ApiExcludeController()
@Controller()
export class StaticController {
  constructor(private readonly config: AppConfig) {}

  /** Production gets an empty script: nothing of the sandbox is referenced there. */
  @Get('wechat/env.js')
  env(@Res() res: Response): void {
    res.setHeader('Content-Type', 'application/javascript; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.send(this.config.wechat.sandbox ? SANDBOX_ENV_JS : '');
  }

  /** `/wechat` and `/wechat/` → member.html, keeping the query (an OAuth `code` must survive). */
  @Get('wechat')
  entry(@Req() req: Request, @Res() res: Response): void {
    const q = req.originalUrl.indexOf('?');
    res.setHeader('Cache-Control', 'no-cache');
    res.redirect(302, `/wechat/member.html${q >= 0 ? req.originalUrl.slice(q) : ''}`);
  }
}

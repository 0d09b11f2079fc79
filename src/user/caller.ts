import { applyDecorators, CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiBearerAuth, ApiNotFoundResponse, ApiQuery, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { perRoute } from '../common/per-route';
import { CALLER_REQUIRED_DETAIL, Caller, CallerIdentityService, CallerOptions, SESSION_EXPIRED_DETAIL } from './caller-identity.service';

export type { Caller, CallerOptions, CallerUser, CallerVia } from './caller-identity.service';

const CALLER_OPTIONS = 'user:caller-options';
/** Where the guard leaves the resolved caller for `@CurrentCaller()`. */
const CALLER = Symbol('caller');

type RequestWithCaller = Request & { [CALLER]?: Caller };

/**
 * Resolves the caller before any pipe runs, so identity problems (401/400 client_id/404) are
 * answered the same way whatever else is wrong with the request. Runs after the class-level
 * guards (the rate limit counts refused requests too).
 */
@Injectable()
export class CallerGuard implements CanActivate {
  constructor(
    private readonly identity: CallerIdentityService,
    private readonly reflector: Reflector,
  ) {}

  /** Each route's options, read from its metadata the first time the route is called. */
  private readonly optionsOf = perRoute(
    (handler, classRef) =>
      this.reflector.getAllAndOverride<CallerOptions | undefined>(CALLER_OPTIONS, [handler, classRef]) ?? { allowClientId: false },
  );

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<RequestWithCaller>();
    req[CALLER] = await this.identity.resolveRequest(req, this.optionsOf(context));
    return true;
  }
}

/**
 * Marks a route "caller required" (docs/api.md "User identity") and documents it. With
 * `allowClientId: true` the desktop's `client_id` query parameter is accepted as a last resort.
 * Pair with `@CurrentCaller() caller: Caller`.
 */
export function RequireCaller(options: CallerOptions): MethodDecorator & ClassDecorator {
  const decorators = [
    SetMetadata(CALLER_OPTIONS, options),
    UseGuards(CallerGuard),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({
      description: `\`${CALLER_REQUIRED_DETAIL}\` (no identity) or \`${SESSION_EXPIRED_DETAIL}\` (bad or expired token)`,
    }),
    ApiNotFoundResponse({ description: '`用户不存在`' + (options.allowClientId ? ' or, for client_id, `用户未关注公众号`' : '') }),
  ];
  if (options.allowClientId) {
    decorators.push(
      ApiQuery({
        name: 'client_id',
        required: false,
        type: String,
        description:
          "The desktop app's id (1–128 of [A-Za-z0-9_.:-], trimmed), used when no session token is sent; malformed → 400 `client_id格式错误`",
      }),
    );
  }
  return applyDecorators(...decorators);
}

/** The caller resolved by `@RequireCaller` for this request. */
export const CurrentCaller = createParamDecorator((_data: unknown, ctx: ExecutionContext): Caller => {
  const caller = ctx.switchToHttp().getRequest<RequestWithCaller>()[CALLER];
  if (!caller) throw new Error('@CurrentCaller() used on a route without @RequireCaller()');
  return caller;
});

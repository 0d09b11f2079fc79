import { DynamicModule, Global, Module, Type } from '@nestjs/common';
import { Clock, SystemClock } from './clock';

/**
 * The Clock every module injects. The root module names its class: the plain SystemClock, or with
 * the sandbox mounted the sandbox's own clock, which its time-travel endpoint moves.
 */
@Global()
@Module({})
export class CommonModule {
  static forRoot(clock: Type<Clock> = SystemClock): DynamicModule {
    return { module: CommonModule, providers: [{ provide: Clock, useClass: clock }], exports: [Clock] };
  }
}

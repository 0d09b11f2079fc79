import type { ExecutionContext } from '@nestjs/common';

/** A route, as Nest's execution context names it: its handler and its controller class. */
export type Handler = ReturnType<ExecutionContext['getHandler']>;
export type ClassRef = ReturnType<ExecutionContext['getClass']>;

/**
 * A value worked out once per route (its handler and controller class) and kept: for guards whose
 * every request would otherwise read the same route metadata again (reflect-metadata look-ups, the
 * prototype walk of each). A handler called through another class (an inherited route) is worked
 * out again for that class.
 */
export function perRoute<T>(compute: (handler: Handler, classRef: ClassRef) => T): (context: ExecutionContext) => T {
  const byHandler = new WeakMap<Handler, { classRef: ClassRef; value: T }>();
  return (context) => {
    const handler = context.getHandler();
    const classRef = context.getClass();
    let route = byHandler.get(handler);
    if (route?.classRef !== classRef) byHandler.set(handler, (route = { classRef, value: compute(handler, classRef) }));
    return route.value;
  };
}

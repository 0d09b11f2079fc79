import type { ExecutionContext } from '@nestjs/common';

/** A route, as Nest's execution context names it: its handler and its controller class. */
export type Handler = ReturnType<ExecutionContext['getHandler']>;
export type ClassRef = ReturnType<ExecutionContext['getClass']>;

/**
 * A value worked out once per route (its handler and controller class) and kept: for guards whose
 * every request would otherwise read the same route metadata again (reflect-metadata look-ups, the
 * prototype walk of each). A handler reached through several classes (an inherited route) has a
 * value per class.
 */
export function perRoute<T>(compute: (handler: Handler, classRef: ClassRef) => T): (context: ExecutionContext) => T {
  const byHandler = new WeakMap<Handler, Map<ClassRef, T>>();
  return (context) => {
    const handler = context.getHandler();
    const classRef = context.getClass();
    let byClass = byHandler.get(handler);
    if (!byClass) byHandler.set(handler, (byClass = new Map<ClassRef, T>()));
    if (byClass.has(classRef)) return byClass.get(classRef) as T;
    const value = compute(handler, classRef);
    byClass.set(classRef, value);
    return value;
  };
}

import type { ExecutionContext } from '@nestjs/common';
import { perRoute } from './per-route';

function contextOf(handler: () => void, classRef: new () => unknown): ExecutionContext {
  return { getHandler: () => handler, getClass: () => classRef } as unknown as ExecutionContext;
}

describe('perRoute', () => {
  class A {}
  class B {}
  const one = () => undefined;
  const two = () => undefined;

  it('works a route out once, and each route (handler and class) apart', () => {
    const compute = jest.fn(
      (handler: unknown, classRef: unknown) => `${handler === one ? 'one' : 'two'}@${(classRef as { name: string }).name}`,
    );
    const of = perRoute(compute);
    expect([of(contextOf(one, A)), of(contextOf(one, A)), of(contextOf(two, A)), of(contextOf(two, A))]).toEqual([
      'one@A',
      'one@A',
      'two@A',
      'two@A',
    ]);
    expect(compute).toHaveBeenCalledTimes(2);
    // The same handler through another class (an inherited route) is that class's route, and
    // calls alternating between the two classes work out neither again.
    expect([of(contextOf(one, B)), of(contextOf(one, A)), of(contextOf(one, B))]).toEqual(['one@B', 'one@A', 'one@B']);
    expect(compute).toHaveBeenCalledTimes(3);
  });

  it('keeps a null or undefined value without working it out again', () => {
    const compute = jest.fn(() => null);
    const of = perRoute(compute);
    of(contextOf(one, A));
    of(contextOf(one, A));
    expect(compute).toHaveBeenCalledTimes(1);
  });
});

import { DomainError, ServiceUnavailableError } from '../common/errors';
import { BudgetExhaustedError, CallbackBudget } from './callback-budget';

describe('CallbackBudget', () => {
  it('passes the absolute deadline to every call', async () => {
    const budget = new CallbackBudget(3000, 1_000_000);
    expect(budget.deadline).toBe(1_003_000);
    const live = new CallbackBudget(3000);
    await expect(live.run((opts) => Promise.resolve(opts.deadline))).resolves.toBe(live.deadline);
  });

  it('a call that never settles is cut off at the deadline with a 503-type error', async () => {
    const budget = new CallbackBudget(150);
    const started = Date.now();
    await expect(budget.run(() => new Promise(() => undefined))).rejects.toBeInstanceOf(BudgetExhaustedError);
    expect(Date.now() - started).toBeLessThan(1000);
    // Nothing left: later calls are refused without being made.
    const call = jest.fn(() => Promise.resolve(1));
    await expect(budget.run(call)).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(call).not.toHaveBeenCalled();
  });

  it('retries unavailability within the budget', async () => {
    const call = jest
      .fn<Promise<string>, []>()
      .mockRejectedValueOnce(new ServiceUnavailableError())
      .mockRejectedValueOnce(new ServiceUnavailableError())
      .mockResolvedValue('ok');
    await expect(new CallbackBudget(3000).run(call)).resolves.toBe('ok');
    expect(call).toHaveBeenCalledTimes(3);
  });

  it('leaves deadlocks to the database layer: one that escapes it is not retried here', async () => {
    const deadlock = Object.assign(new Error('Deadlock found'), { driverError: { code: 'ER_LOCK_DEADLOCK', errno: 1213 } });
    const call = jest.fn<Promise<string>, []>().mockRejectedValue(deadlock);
    await expect(new CallbackBudget(3000).run(call)).rejects.toBe(deadlock);
    expect(call).toHaveBeenCalledTimes(1);
  });

  it('never retries a 4xx answer or an unexpected error', async () => {
    const refused = jest.fn().mockRejectedValue(new DomainError(409, '重放请求'));
    await expect(new CallbackBudget(3000).run(refused)).rejects.toMatchObject({ status: 409 });
    expect(refused).toHaveBeenCalledTimes(1);
    const bug = jest.fn().mockRejectedValue(new TypeError('x is undefined'));
    await expect(new CallbackBudget(3000).run(bug)).rejects.toBeInstanceOf(TypeError);
    expect(bug).toHaveBeenCalledTimes(1);
  });

  it('gives up retrying when the budget is nearly spent', async () => {
    const call = jest.fn().mockRejectedValue(new ServiceUnavailableError());
    await expect(new CallbackBudget(100).run(call)).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(call).toHaveBeenCalledTimes(1);
  });
});

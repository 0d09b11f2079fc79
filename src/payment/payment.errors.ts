import { DomainError } from '../common/errors';

/** Chinese details of the contract (docs/api.md, docs/internal.md). */
export class OrderNotFoundError extends DomainError {
  constructor() {
    super(404, '订单不存在');
  }
}

export class AmountMismatchError extends DomainError {
  constructor() {
    super(409, '金额与订单不符');
  }
}

export class PayerMismatchError extends DomainError {
  constructor() {
    super(409, '付款人与订单不符');
  }
}

export class TransactionReusedError extends DomainError {
  constructor() {
    super(409, '微信支付单号已用于其他订单');
  }
}

export class AnomalyNotFoundError extends DomainError {
  constructor() {
    super(404, '异常不存在');
  }
}

export class AnomalyResolvedError extends DomainError {
  constructor() {
    super(409, '异常已处理');
  }
}

import { DomainError } from '../../common/errors';
import { fenToYuanString } from '../../config/money';

/** The refund errors of the contract (docs/ops.md "Refunds", docs/internal.md); the Chinese details are part of it. */
export class RefundNotFoundError extends DomainError {
  constructor() {
    super(404, '退款单不存在');
  }
}

export class RefundMismatchError extends DomainError {
  constructor() {
    super(409, '退款金额与退款单不符');
  }
}

export class OrderFullyRefundedError extends DomainError {
  constructor() {
    super(409, '订单已全额退款');
  }
}

export class OrderNotPaidError extends DomainError {
  constructor() {
    super(409, '订单未支付，不能退款');
  }
}

export class RefundTooLargeError extends DomainError {
  constructor(leftFen: number) {
    super(409, `退款金额超过可退金额（最多 ${fenToYuanString(leftFen)} 元）`);
  }
}

export class RequestIdReusedError extends DomainError {
  constructor() {
    super(409, 'request_id已用于另一订单的退款');
  }
}

/** WeChat Pay refused the refund: it is `failed`, nothing was refunded. */
export class RefundRefusedError extends DomainError {
  constructor(reason: string) {
    super(502, `退款失败: ${reason.slice(0, 120)}`);
  }
}

/** No (trustworthy) answer from WeChat Pay: the refund stays `pending`; the same request_id or the sync job completes it. */
export class RefundUnconfirmedError extends DomainError {
  constructor() {
    super(502, '微信支付暂不可用，退款待确认：请用同一 request_id 重试');
  }
}

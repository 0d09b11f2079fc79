import { DomainError } from '../common/errors';

/** The Chinese details are matched by the shipped desktop app and pages (docs/api.md, docs/internal.md). */
export class InsufficientCreditsError extends DomainError {
  constructor() {
    super(402, '额度不足');
  }
}

export class NotFollowedError extends DomainError {
  constructor() {
    super(404, '用户未关注公众号');
  }
}

export class UserNotFoundError extends DomainError {
  constructor() {
    super(404, '用户不存在');
  }
}

export class TaskNotFoundError extends DomainError {
  constructor() {
    super(404, '任务不存在');
  }
}

/** A refund that names no user, for a task id several users consumed (docs/internal.md refund). */
export class TaskAmbiguousError extends DomainError {
  constructor() {
    super(409, '多个用户有相同的任务，请提供 openid 或 client_id');
  }
}

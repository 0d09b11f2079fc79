import { ValidationError, ValidationPipe } from '@nestjs/common';
import { DomainError } from './errors';

/** The first problem as `"<field>: <reason>"` (docs/api.md). DTOs may set Chinese messages via `context`. */
function firstMessage(errors: ValidationError[], prefix = ''): string {
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      const [key, msg] = Object.entries(e.constraints)[0];
      const custom = (e.contexts?.[key] as { detail?: string } | undefined)?.detail;
      if (custom) return custom;
      return `${field}: ${msg.startsWith(e.property) ? msg.slice(e.property.length).trim() : msg}`;
    }
    if (e.children?.length) return firstMessage(e.children, field);
  }
  return 'invalid request';
}

export function buildValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    transform: true,
    exceptionFactory: (errors) => new DomainError(400, firstMessage(errors)),
  });
}

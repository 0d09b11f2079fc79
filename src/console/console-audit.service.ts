import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { maskId } from '../common/redact';
import { toIsoShanghai } from '../common/time-format';
import { DatabaseService } from '../database/database.service';
import { execute, select, type SqlDateTime, toDate } from '../database/sql';

export interface AuditEntry {
  operator: string;
  requestId: string;
  action: string;
  target?: string | null;
  before?: unknown;
  after?: unknown;
}

export interface AuditView {
  id: number;
  operator_openid: string;
  request_id: string;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  created_at: string | null;
}

const MAX_JSON = 8000;

/** A `console_audit` row as raw SQL reads it. */
interface AuditRow {
  id: number | string;
  operator_openid: string;
  request_id: string;
  action: string;
  target: string | null;
  before_json: string | null;
  after_json: string | null;
  created_at: SqlDateTime;
}

/**
 * `console_audit` (docs/operator-guide.md "Audit"): one row per operator action — who (the full
 * openid: the table is for the people running the account), when, which request, what, and the
 * state before and after. Log lines carry the masked openid only.
 */
@Injectable()
export class ConsoleAuditService {
  private readonly logger = new Logger('ConsoleAudit');

  constructor(
    private readonly db: DatabaseService,
    private readonly clock: Clock,
  ) {}

  async record(e: AuditEntry, em?: EntityManager): Promise<void> {
    const write = (m: EntityManager) =>
      execute(
        m,
        'INSERT INTO console_audit (operator_openid, request_id, action, target, before_json, after_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [
          e.operator,
          e.requestId.slice(0, 64),
          e.action.slice(0, 32),
          e.target ? e.target.slice(0, 128) : null,
          json(e.before),
          json(e.after),
          this.clock.now(),
        ],
      );
    if (em) await write(em);
    else await this.db.run(write);
    this.logger.log(`${e.action} by ${maskId(e.operator)} on ${e.target ?? '-'} (request ${e.requestId})`);
  }

  async list(opts: { target?: string; limit?: number } = {}): Promise<AuditView[]> {
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 500);
    const rows = await this.db.run((em) =>
      opts.target
        ? select<AuditRow>(em, `SELECT * FROM console_audit WHERE target = ? ORDER BY id DESC LIMIT ${limit}`, [opts.target])
        : select<AuditRow>(em, `SELECT * FROM console_audit ORDER BY id DESC LIMIT ${limit}`),
    );
    return rows.map((r) => ({
      id: Number(r.id),
      operator_openid: String(r.operator_openid),
      request_id: String(r.request_id),
      action: String(r.action),
      target: r.target === null ? null : String(r.target),
      before: parse(r.before_json),
      after: parse(r.after_json),
      created_at: toIsoShanghai(toDate(r.created_at)),
    }));
  }
}

function json(v: unknown): string | null {
  if (v === undefined) return null;
  const s = JSON.stringify(v);
  return s.length > MAX_JSON ? JSON.stringify({ truncated: s.slice(0, MAX_JSON) }) : s;
}

function parse(v: string | null): unknown {
  if (v === null || v === undefined) return null;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

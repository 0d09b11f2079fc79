import { ValueTransformer } from 'typeorm';

/**
 * BIGINT ids: mysql2 (supportBigNumbers, no bigNumberStrings) returns numbers when they are safe;
 * SQLite returns numbers. Normalise anything else (a string from a driver option) to number.
 */
export const bigintId: ValueTransformer = {
  to: (v: unknown) => v,
  from: (v: unknown) => (v === null || v === undefined ? v : Number(v)),
};

/** DECIMAL(10,2) yuan: MySQL returns "29.90", SQLite a REAL. Always expose a 2-decimal string. */
export const decimalYuan: ValueTransformer = {
  to: (v: unknown) => v,
  from: (v: unknown) => (v === null || v === undefined ? v : Number(v).toFixed(2)),
};

/** A TINYINT(1) / INTEGER boolean as a driver hands it back: true, 1 or "1" is true. */
export function readBoolInt(v: unknown): boolean {
  return v === true || v === 1 || v === '1';
}

/** Boolean stored as TINYINT(1) / INTEGER; some drivers hand back "1"/"0" or numbers. */
export const boolInt: ValueTransformer = {
  to: (v: unknown) => (v === undefined ? v : v === null ? null : v ? 1 : 0),
  from: (v: unknown) => (v === null || v === undefined ? v : readBoolInt(v)),
};

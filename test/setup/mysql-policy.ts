/**
 * Whether the MySQL suites run. In CI an unreachable MySQL fails the whole run: a silently
 * skipped MySQL suite would let a green CI hide the production database's behaviour.
 */
export function decideMysql(opts: { ci: boolean; reachable: boolean; optOut: boolean }): 'run' | 'skip' {
  if (opts.reachable) return 'run';
  if (opts.ci) {
    throw new Error(
      'MySQL/MariaDB is unreachable on 127.0.0.1:3306 and CI=true: the MySQL suites must run in CI. Start MariaDB (see .ci/run).',
    );
  }
  if (!opts.optOut) {
    throw new Error('MySQL/MariaDB is unreachable on 127.0.0.1:3306. Start it, or set TEST_SKIP_MYSQL=1 to run the SQLite half only.');
  }
  return 'skip';
}

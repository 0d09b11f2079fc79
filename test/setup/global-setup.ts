import { decideMysql } from './mysql-policy';
import { isMysqlReachable, MYSQL } from './mysql';

export default async function globalSetup(): Promise<void> {
  const ci = /^(1|true)$/i.test(process.env.CI ?? '');
  const decision = decideMysql({ ci, reachable: await isMysqlReachable(), optOut: process.env.TEST_SKIP_MYSQL === '1' });
  process.env.TEST_MYSQL_ENABLED = decision === 'run' ? '1' : '0';
  if (decision === 'skip') {
    console.warn(`\n*** MySQL at ${MYSQL.host}:${MYSQL.port} unreachable: MySQL suites SKIPPED (TEST_SKIP_MYSQL=1) ***\n`);
  }
}

/**
 * Closing summary: how many tests ran on MySQL (their names carry "[mysql]") and each suite's
 * duration (docs/quality.md asks the output to show both).
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    let mysqlPassed = 0;
    let mysqlFailed = 0;
    const suites = [];
    for (const suite of results.testResults) {
      const secs = (suite.perfStats.end - suite.perfStats.start) / 1000;
      suites.push([secs, suite.testFilePath.replace(process.cwd() + '/', '')]);
      for (const t of suite.testResults) {
        if (!t.fullName.includes('[mysql]')) continue;
        if (t.status === 'passed') mysqlPassed++;
        else if (t.status === 'failed') mysqlFailed++;
      }
    }
    suites.sort((a, b) => b[0] - a[0]);
    const lines = ['', 'Suite durations:'];
    for (const [secs, file] of suites) lines.push(`  ${secs.toFixed(1).padStart(7)} s  ${file}`);
    lines.push('');
    lines.push(`MySQL: ${mysqlPassed + mysqlFailed} tests ran on MySQL/MariaDB (${mysqlPassed} passed, ${mysqlFailed} failed)`);
    lines.push(
      `${results.numPassedTests} passed, ${results.numFailedTests} failed` +
        (results.numPendingTests ? `, ${results.numPendingTests} skipped` : ''),
    );
    console.log(lines.join('\n'));
  }
}
module.exports = SummaryReporter;

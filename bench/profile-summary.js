'use strict';
/**
 * Summarises a V8 .cpuprofile (`node --cpu-prof`): self time per function and per package, so a
 * row that misses its target can be explained by evidence, not guesses.
 *   node bench/profile-summary.js <file.cpuprofile> [top]
 */
const { readFileSync } = require('node:fs');

function where(url) {
  if (!url) return '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const d = /\/dist\/src\/([^/]+)\//.exec(url);
  if (d) return `app:${d[1]}`;
  return url
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/');
}

function summarise(file, top = 25) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = prof.timeDeltas || [];
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) || 0) + (deltas[i] || 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const fn = new Map();
  const pkg = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'}  ${where(cf.url)}${cf.url ? ':' + (cf.lineNumber + 1) : ''}`;
    fn.set(key, (fn.get(key) || 0) + us);
    const p = ['(idle)', '(program)', '(garbage collector)'].includes(cf.functionName) ? cf.functionName : where(cf.url);
    pkg.set(p, (pkg.get(p) || 0) + us);
  }
  // Inclusive time: every distinct function on a sample's stack gets the sample.
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const keyOf = (n) =>
    `${n.callFrame.functionName || '(anonymous)'}  ${where(n.callFrame.url)}${n.callFrame.url ? ':' + (n.callFrame.lineNumber + 1) : ''}`;
  const incl = new Map();
  for (const [id, us] of self) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = keyOf(byId.get(cur));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) || 0) + us);
    }
  }
  const pct = (us) => ((us / total) * 100).toFixed(1).padStart(5) + ' %';
  const lines = [`\nProfile ${file}: ${(total / 1e6).toFixed(1)} s sampled`, '', 'Self time by package / area:'];
  for (const [k, us] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${k}`);
  lines.push('', 'Top functions by self time:');
  for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${k}`);
  if (process.env.PROFILE_INCLUSIVE) {
    lines.push('', 'Top functions by inclusive time:');
    for (const [k, us] of [...incl]
      .filter(([k]) => !k.startsWith('(root)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top * 2))
      lines.push(`  ${pct(us)}  ${k}`);
  }
  return lines.join('\n');
}

module.exports = { summarise };

if (require.main === module) {
  if (!process.argv[2]) {
    console.error('usage: node bench/profile-summary.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarise(process.argv[2], Number(process.argv[3] || 25)));
}

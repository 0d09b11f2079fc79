'use strict';
/**
 * The load generator of bench/run.js: Debian's `wrk` (C, one event loop per thread), installed when
 * missing as scripts/ensure-system-packages.sh installs the test suite's packages. autocannon (node)
 * took one of the machine's two cores to generate the load; wrk needs a fraction of one.
 *
 * Requests are built up front — WeChat signatures carry a timestamp (accepted for 300 s), so each
 * batch is signed right before its run — written one per line and replayed by bench/wrk-requests.lua,
 * which checks every answer's status and body.
 */
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, writeFileSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const L = require('./lib');

const SCRIPT = path.join(__dirname, 'wrk-requests.lua');

/** Installs wrk (Debian package) when it is missing: root and apt-get, or the command to run. */
function ensureWrk() {
  try {
    execFileSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' });
    return;
  } catch {
    /* missing */
  }
  if (process.getuid?.() !== 0) throw new Error('the bench needs wrk: sudo apt-get install -y wrk');
  console.error('== installing the Debian package wrk for the bench');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/**
 * Runs wrk against `url` for `seconds` with `connections`, replaying `requests` ({ method, path,
 * header?: [name, value], body? }) in order (cycling if it runs out: counted as `wrapped`); every
 * answer must be 200 and contain `expect`. Resolves with the counts, latency percentiles (ms) and
 * the generator's own CPU time.
 */
async function runWrk({ url, connections, seconds, requests, expect = '', threads = 1, timeoutS = 10 }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-wrk-'));
  const file = path.join(dir, 'requests.tsv');
  try {
    const lines = requests.map((r) => {
      const fields = [r.method, r.path, r.header ? r.header[0] : '', r.header ? r.header[1] : '', r.body || ''];
      if (fields.some((f) => /[\t\n\r]/.test(f))) throw new Error('a request field contains a tab or newline');
      return fields.join('\t');
    });
    writeFileSync(file, lines.join('\n') + '\n');
    const t = Math.max(1, Math.min(threads, requests.length));
    const argv = [
      '-t',
      String(t),
      '-c',
      String(Math.max(connections, t)),
      '-d',
      `${seconds}s`,
      '--timeout',
      `${timeoutS}s`,
      '-s',
      SCRIPT,
      url,
      '--',
      file,
      expect,
      String(t),
    ];
    const child = spawn('wrk', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    // The generator's CPU time: sampled from /proc while it runs (the last sample before it exits).
    let cpuMs = 0;
    const sampler = setInterval(() => (cpuMs = Math.max(cpuMs, L.cpuMsOf(child.pid))), 100);
    const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
    clearInterval(sampler);
    const m = /WRK_RESULT (\{.*\})/.exec(out);
    if (code !== 0 || !m) throw new Error(`wrk exited with ${code}:\n${out.slice(-2000)}`);
    const r = JSON.parse(m[1]);
    return {
      total: r.requests,
      rps: r.requests / (r.duration_us / 1e6),
      ok: r.ok,
      non2xx: r.bad_status,
      mismatches: r.bad_body,
      wrapped: r.wrapped,
      errors: r.connect + r.read + r.write + r.timeout,
      p50: r.p50_us / 1000,
      p90: r.p90_us / 1000,
      p99: r.p99_us / 1000,
      max: r.max_us / 1000,
      wrkCpuMs: cpuMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { ensureWrk, runWrk };

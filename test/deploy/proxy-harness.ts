import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, IncomingHttpHeaders, request as httpRequest, createServer, Server } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, tempDir } from '../setup/test-app';

/**
 * Runs the shipped proxy configurations (deploy/lighttpd, deploy/nginx) unmodified on loopback
 * ports: the only test-specific files are the per-host settings file each shipped config includes
 * (lighttpd `image-classifier.vars.conf`, nginx `image-classifier.site.conf`) and, for nginx, the
 * main nginx.conf that includes the shipped http-level file — exactly what an operator writes.
 */

const run = promisify(execFile);

export type ProxyKind = 'lighttpd' | 'nginx';
export type Topology = 'simplified' | 'split';

export const LIGHTTPD = process.env.LIGHTTPD_BIN ?? 'lighttpd';
export const NGINX = process.env.NGINX_BIN ?? 'nginx';

export function shippedConfig(kind: ProxyKind, topology: Topology): string {
  return join(ROOT, 'deploy', kind, `${topology}.conf`);
}

// ---------------------------------------------------------------------------------------------
// Child processes: every one is registered so that a failing test cannot leak it.

const children = new Set<ChildProcess>();

export function track(proc: ChildProcess): ChildProcess {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/**
 * Last resort (the test process is exiting without its afterAll): SIGTERM whatever is still
 * running — the apps and lighttpd exit on it, and nginx's master takes its worker with it (a
 * SIGKILLed master would orphan the worker).
 */
process.once('exit', () => {
  for (const p of children) {
    try {
      p.kill('SIGTERM');
    } catch {
      /* gone */
    }
  }
});

export async function stopProcess(proc: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Certificates and the document root.

export interface Cert {
  certFile: string;
  keyFile: string;
  pem: string;
}

/** A throwaway self-signed certificate for 127.0.0.1 and `ips` (SAN, so Node verifies it for real). */
export async function makeCert(dir: string, ips: string[] = []): Promise<Cert> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    `subjectAltName=${['127.0.0.1', ...ips].map((ip) => `IP:${ip}`).join(',')},DNS:localhost`,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile, pem: readFileSync(certFile, 'utf8') };
}

export const MP_VERIFY_FILE = 'MP_verify_deploytest0123456.txt';
export const MP_VERIFY_CONTENT = 'deploytest0123456';
export const OLD_PAGE_MARKER = 'OLD COPY OF THE PAGE FROM THE PREVIOUS DEPLOYMENT';

/** The website's document root: its own files, WeChat's MP_verify file, and a stale wechat/ copy. */
export function makeDocumentRoot(dir: string): string {
  const root = join(dir, 'www');
  mkdirSync(join(root, 'wechat'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>website</title>website home\n');
  writeFileSync(join(root, MP_VERIFY_FILE), MP_VERIFY_CONTENT);
  // Left behind on purpose: /wechat/ must still reach the app, never this file.
  writeFileSync(join(root, 'wechat', 'member.html'), OLD_PAGE_MARKER);
  return root;
}

/** A temp dir the proxy's unprivileged workers can traverse (mkdtemp makes it 0700). */
export function proxyDir(prefix: string): string {
  const dir = tempDir(prefix);
  chmodSync(dir, 0o755);
  return dir;
}

/** Removes a test's temp dir (DEPLOY_TEST_KEEP=1 keeps it for a post-mortem and prints where). */
export function removeDir(dir: string | undefined): void {
  if (!dir) return;
  if (process.env.DEPLOY_TEST_KEEP === '1') {
    console.log(`kept ${dir}`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// The proxies.

export interface ProxySettings {
  port: number;
  cert: Cert;
  documentRoot: string;
  /** App-role (or role all) backends: loopback ports. */
  app: number[];
  /** Web-role backends (split plan). */
  web?: number[];
  /** Where the proxy listens and where each role's backends are (default 127.0.0.1; other hosts: test/deploy/netns-split). */
  listenAddress?: string;
  appHost?: string;
  webHost?: string;
}

export interface RunningProxy {
  kind: ProxyKind;
  topology: Topology;
  origin: string;
  dir: string;
  accessLog: string;
  errorLog: string;
  proc: ChildProcess;
  output(): string;
  /**
   * Rewrites the settings with other backends and reloads gracefully, as an operator does to take
   * an app process out of rotation: lighttpd SIGUSR1 (= `systemctl reload lighttpd`), nginx SIGHUP
   * (= `nginx -s reload`). Resolves once the config test passed and the signal was sent.
   */
  reconfigure(backends: { app: number[]; web?: number[] }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Who lighttpd runs as after binding (var.run_as_user): www-data as in production when the test
 * runs as root (CI), otherwise the current user (lighttpd only drops privileges when root).
 */
export function lighttpdRunAs(): { user: string; group: string; uid: number; gid: number } {
  const id = (args: string[]) => execFileSync('id', args, { encoding: 'utf8' }).trim();
  const user = process.getuid?.() === 0 ? (hasUser('www-data') ? 'www-data' : 'nobody') : userInfo().username;
  return { user, group: id(['-gn', user]), uid: Number(id(['-u', user])), gid: Number(id(['-g', user])) };
}

function hasUser(name: string): boolean {
  try {
    execFileSync('id', [name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const backends = (ports: number[], host = '127.0.0.1') => `( ${ports.map((p) => `( "host" => "${host}", "port" => ${p} )`).join(', ')} )`;

/** What an operator puts in /etc/lighttpd/image-classifier.vars.conf, with loopback values. */
export function lighttpdVars(s: ProxySettings, logDir: string): string {
  const runAs = lighttpdRunAs();
  return [
    `var.listen_address = "${s.listenAddress ?? '127.0.0.1'}"`,
    `var.listen_port    = ${s.port}`,
    `var.ssl_pemfile    = "${s.cert.certFile}"`,
    `var.ssl_privkey    = "${s.cert.keyFile}"`,
    `var.document_root  = "${s.documentRoot}"`,
    `var.log_dir        = "${logDir}"`,
    `var.run_as_user    = "${runAs.user}"`,
    `var.run_as_group   = "${runAs.group}"`,
    `var.app_backends   = ${backends(s.app, s.appHost)}`,
    `var.web_backends   = ${backends(s.web ?? s.app, s.web ? s.webHost : s.appHost)}`,
    '',
  ].join('\n');
}

/** What an operator puts in /etc/nginx/image-classifier.site.conf, with loopback values. */
export function nginxSite(s: ProxySettings, logDir: string): string {
  const target = (ports: number[], group: string) => (ports.length === 1 ? `127.0.0.1:${ports[0]}` : group);
  return [
    `listen 127.0.0.1:${s.port} ssl;`,
    'server_name localhost;',
    `ssl_certificate     ${s.cert.certFile};`,
    `ssl_certificate_key ${s.cert.keyFile};`,
    `root ${s.documentRoot};`,
    `access_log ${logDir}/access.log image_classifier;`,
    `error_log  ${logDir}/error.log warn;`,
    `set $image_classifier_app ${target(s.app, 'image_classifier_app')};`,
    `set $image_classifier_web ${target(s.web ?? s.app, 'image_classifier_web')};`,
    '',
  ].join('\n');
}

/** The main nginx.conf: process settings, temp paths inside the test dir, then the shipped file. */
export function nginxMain(dir: string, topology: Topology, s: ProxySettings): string {
  const group = (name: string, ports: number[]) =>
    ports.length > 1 ? `    upstream ${name} { ${ports.map((p) => `server 127.0.0.1:${p};`).join(' ')} }` : '';
  const tmp = join(dir, 'tmp');
  return [
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'logs', 'main-error.log')} warn;`,
    'worker_processes 1;',
    'events { worker_connections 1024; }',
    'http {',
    existsSync('/etc/nginx/mime.types') ? '    include /etc/nginx/mime.types;' : '    types { text/html html; text/plain txt; }',
    '    default_type application/octet-stream;',
    `    client_body_temp_path ${tmp}/body;`,
    `    proxy_temp_path ${tmp}/proxy;`,
    `    fastcgi_temp_path ${tmp}/fastcgi;`,
    `    uwsgi_temp_path ${tmp}/uwsgi;`,
    `    scgi_temp_path ${tmp}/scgi;`,
    group('image_classifier_app', s.app),
    group('image_classifier_web', s.web ?? []),
    `    include ${shippedConfig('nginx', topology)};`,
    '}',
    '',
  ].join('\n');
}

async function waitForPort(port: number, proc: ChildProcess, out: () => string, timeoutMs = 10_000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`proxy exited with ${proc.exitCode}:\n${out()}`);
    const open = await new Promise<boolean>((res) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`proxy did not listen on ${port}:\n${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `<binary> -tt`/`-t` on the config; resolves with the tool's output, rejects with it. */
export async function checkConfig(kind: ProxyKind, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(kind === 'lighttpd' ? LIGHTTPD : NGINX, args);
    return stdout + stderr;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${kind} ${args.join(' ')} failed: ${err.stderr ?? ''}${err.stdout ?? ''}${err.message}`);
  }
}

/**
 * Starts the shipped config of `kind`/`topology` with `settings`: writes the settings file, runs
 * the config test (`lighttpd -tt -f` / `nginx -t`), then the server in the foreground.
 */
export async function startProxy(
  kind: ProxyKind,
  topology: Topology,
  settings: ProxySettings,
  parent?: string,
  opts: { wrap?: string[] } = {},
): Promise<RunningProxy> {
  const dir = parent ? join(parent, `${kind}-${topology}-${settings.port}`) : proxyDir(`wx-${kind}-${topology}-`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  let args: string[];
  let testArgs: string[];
  if (kind === 'lighttpd') {
    writeFileSync(join(dir, 'image-classifier.vars.conf'), lighttpdVars(settings, logDir));
    // The main config is the shipped file, reached through a one-line include so that the vars
    // file resolves next to it (lighttpd resolves relative includes against -f's directory).
    const main = join(dir, 'lighttpd.conf');
    writeFileSync(main, `include "${shippedConfig('lighttpd', topology)}"\n`);
    testArgs = ['-tt', '-f', main];
    args = ['-D', '-f', main];
  } else {
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    chmodSync(join(dir, 'tmp'), 0o777);
    writeFileSync(join(dir, 'image-classifier.site.conf'), nginxSite(settings, logDir));
    const main = join(dir, 'nginx.conf');
    writeFileSync(main, nginxMain(dir, topology, settings));
    testArgs = ['-t', '-p', dir, '-c', main, '-g', 'daemon off;'];
    args = ['-p', dir, '-c', main, '-g', 'daemon off;'];
  }
  if (kind === 'lighttpd') {
    // As in production: the log directory belongs to the unprivileged user, the key is readable
    // by its group (a graceful reload re-reads it after privileges were dropped).
    const runAs = lighttpdRunAs();
    if (process.getuid?.() === 0) {
      chownSync(logDir, runAs.uid, runAs.gid);
      chownSync(settings.cert.keyFile, 0, runAs.gid);
      chmodSync(settings.cert.keyFile, 0o640);
    }
  }
  await checkConfig(kind, testArgs);
  // `wrap`: a command prefix such as `ip netns exec <ns>` (the proxy on another test host).
  const command = [...(opts.wrap ?? []), kind === 'lighttpd' ? LIGHTTPD : NGINX, ...args];
  const proc = track(spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const output = () => out + (existsSync(join(logDir, 'error.log')) ? readFileSync(join(logDir, 'error.log'), 'utf8') : '');
  const host = settings.listenAddress ?? '127.0.0.1';
  await waitForPort(settings.port, proc, output, 10_000, host);
  return {
    kind,
    topology,
    origin: `https://${host}:${settings.port}`,
    dir,
    accessLog: join(logDir, 'access.log'),
    errorLog: join(logDir, 'error.log'),
    proc,
    output,
    async reconfigure(backends) {
      const next = { ...settings, ...backends };
      if (kind === 'lighttpd') {
        writeFileSync(join(dir, 'image-classifier.vars.conf'), lighttpdVars(next, logDir));
      } else {
        writeFileSync(join(dir, 'image-classifier.site.conf'), nginxSite(next, logDir));
        writeFileSync(join(dir, 'nginx.conf'), nginxMain(dir, topology, next));
      }
      await checkConfig(kind, testArgs);
      proc.kill(kind === 'lighttpd' ? 'SIGUSR1' : 'SIGHUP');
    },
    // SIGTERM: lighttpd exits, nginx's master stops its worker first.
    stop: () => stopProcess(proc, 'SIGTERM'),
  };
}

export function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

// ---------------------------------------------------------------------------------------------
// HTTP(S) client: node:http(s) with a scoped agent — the throwaway certificate is trusted by this
// agent only (no NODE_TLS_REJECT_UNAUTHORIZED), and it can send from another loopback address.

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = any>(): T;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** JSON body (sets content-type). */
  json?: unknown;
  timeoutMs?: number;
}

export class Client {
  private readonly agent: HttpAgent | HttpsAgent;

  constructor(
    readonly origin: string,
    opts: { ca?: string; localAddress?: string; keepAlive?: boolean } = {},
  ) {
    const common = { keepAlive: opts.keepAlive ?? true, maxSockets: 64, localAddress: opts.localAddress };
    this.agent = origin.startsWith('https:') ? new HttpsAgent({ ...common, ca: opts.ca }) : new HttpAgent(common);
  }

  request(path: string, opts: RequestOptions = {}): Promise<Reply> {
    const url = new URL(path, this.origin);
    const headers: Record<string, string> = { ...opts.headers };
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Reply>((resolve, reject) => {
      // The raw path is sent exactly as given (no normalisation): bypass attempts need that.
      const req = send(
        {
          host: url.hostname,
          port: url.port,
          method: opts.method ?? 'GET',
          path,
          headers,
          agent: this.agent,
          timeout: opts.timeoutMs ?? 15_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout: ${opts.method ?? 'GET'} ${path}`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  get(path: string, headers?: Record<string, string>): Promise<Reply> {
    return this.request(path, { headers });
  }

  post(path: string, json: unknown, headers?: Record<string, string>): Promise<Reply> {
    return this.request(path, { method: 'POST', json, headers });
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// A recording relay in front of the sandbox's WeChat Pay endpoints: the app's WECHAT_PAY_BASE
// points here, so the test reads what the app sent to "WeChat Pay" (the payer IP,
// `spbill_create_ip`) without any change to the app or the sandbox.

export interface RelayedRequest {
  method: string;
  path: string;
  body: string;
}

export class RecordingRelay {
  readonly seen: RelayedRequest[] = [];
  private server?: Server;

  constructor(private readonly targetPort: () => number) {}

  async listen(port: number): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.seen.push({ method: req.method ?? 'GET', path: req.url ?? '', body: body.toString('utf8') });
        const headers = { ...req.headers, host: `127.0.0.1:${this.targetPort()}`, 'content-length': String(body.length) };
        const out = httpRequest({ host: '127.0.0.1', port: this.targetPort(), method: req.method, path: req.url, headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        out.on('error', () => {
          res.writeHead(502);
          res.end();
        });
        out.end(body);
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
  }

  /** The `spbill_create_ip` of every v2 unified order placed through the relay. */
  payerIps(): string[] {
    return this.seen
      .filter((r) => r.path.endsWith('/pay/unifiedorder'))
      .map((r) => /<spbill_create_ip>(?:<!\[CDATA\[)?([^<\]]*)/.exec(r.body)?.[1] ?? '');
  }

  close(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

// ---------------------------------------------------------------------------------------------
// Probe records written by app-probe.js.

export const PROBE_PRELOAD = join(__dirname, 'app-probe.js');

export interface ProbeRecord {
  probe: string;
  role: string;
  port: number;
  pid: number;
  method: string;
  path: string;
  status: number;
  ip?: string;
  protocol?: string;
  secure?: boolean;
  hostname?: string;
  socket?: string;
  host?: string;
  xff?: string;
  xfp?: string;
  xfh?: string;
}

export function readProbes(file: string, probe?: string): ProbeRecord[] {
  return readIfExists(file)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ProbeRecord)
    .filter((r) => probe === undefined || r.probe === probe);
}

// ---------------------------------------------------------------------------------------------

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

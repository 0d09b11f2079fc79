/**
 * Where the HTTP server listens: a socket inherited from systemd's socket unit (socket activation:
 * LISTEN_FDS ≥ 1 and LISTEN_PID naming us, the socket is fd 3) or its own APP_HOST:APP_PORT.
 * The inherited socket outlives the process, so a restart never closes the listener: connections
 * made meanwhile wait in the kernel's queue (docs/deploy.md "Restart and reload").
 *
 * With WORKERS > 1 the primary was activated, not its workers: a worker listens on fd 3 *of the
 * primary* (node's cluster opens the handle there and shares it), hence LISTEN_PID = parent pid.
 */
export const SD_LISTEN_FDS_START = 3;

export type ListenTarget = { fd: number } | { port: number; host: string };

export function listenTarget(
  env: Record<string, string | undefined>,
  self: { pid: number; ppid: number; isWorker: boolean },
  own: { port: number; host: string },
): ListenTarget {
  const fds = Number(env.LISTEN_FDS ?? 0);
  const owner = self.isWorker ? self.ppid : self.pid;
  if (Number.isInteger(fds) && fds >= 1 && env.LISTEN_PID === String(owner)) return { fd: SD_LISTEN_FDS_START };
  return own;
}

export function describeTarget(t: ListenTarget): string {
  return 'fd' in t ? `inherited socket (fd ${t.fd})` : `${t.host}:${t.port}`;
}

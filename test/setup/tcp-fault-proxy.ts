import { AddressInfo, createServer, Server, Socket, connect } from 'node:net';

/**
 * A small TCP proxy between the app and MariaDB that a test can cut and restore, so faults are
 * produced without ever stopping the machine's shared database (docs/quality.md).
 */
export class TcpFaultProxy {
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  private up = true;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Listens on `host` (loopback by default; a test host's link address in test/deploy/netns-split). */
  async start(port = 0, host = '127.0.0.1'): Promise<number> {
    this.server = createServer((client) => {
      if (!this.up) return client.destroy();
      const upstream = connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(port, host, () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Drops every open connection and refuses new ones until `restore()`. */
  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.up = true;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

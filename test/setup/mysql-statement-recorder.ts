import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';

/** One command a client sent to the server, as the server received it. */
export interface RecordedStatement {
  /** The connection it came on (1, 2, … in the order connections were opened). */
  connection: number;
  kind: 'query' | 'prepare' | 'execute' | 'other';
  sql: string;
}

const COM_QUERY = 0x03;
const COM_PING = 0x0e;
const COM_STMT_PREPARE = 0x16;
const COM_STMT_EXECUTE = 0x17;
const COM_STMT_CLOSE = 0x19;

/**
 * A TCP proxy between the app and MariaDB that reads the MySQL client/server protocol from the
 * client's side and records every command it sends: what the server really receives, whatever
 * layer (TypeORM, the driver, a pool) sent it. Round-trip budgets are asserted on this, never on
 * timings (docs/performance.md). Pings and the connection handshake are not statements and are
 * left out; so is COM_STMT_CLOSE, which the server does not answer.
 */
export class MysqlStatementRecorder {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private connections = 0;
  private recording: RecordedStatement[] = [];
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      const id = ++this.connections;
      const upstream = connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      const prepared = new Map<number, string>();
      let pendingPrepare: string | null = null;
      let buffered: Buffer = Buffer.alloc(0);
      client.on('data', (chunk: Buffer) => {
        buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
        while (buffered.length >= 4) {
          const len = buffered.readUIntLE(0, 3);
          if (buffered.length < 4 + len) break;
          const seq = buffered[3];
          const payload = buffered.subarray(4, 4 + len);
          buffered = buffered.subarray(4 + len);
          // A command starts a new exchange with sequence id 0; the handshake answer and auth
          // packets carry higher sequence ids.
          if (seq !== 0 || payload.length === 0) continue;
          const cmd = payload[0];
          if (cmd === COM_PING || cmd === COM_STMT_CLOSE) continue;
          if (cmd === COM_QUERY) this.recording.push({ connection: id, kind: 'query', sql: payload.subarray(1).toString('utf8') });
          else if (cmd === COM_STMT_PREPARE) {
            pendingPrepare = payload.subarray(1).toString('utf8');
            this.recording.push({ connection: id, kind: 'prepare', sql: pendingPrepare });
          } else if (cmd === COM_STMT_EXECUTE) {
            this.recording.push({ connection: id, kind: 'execute', sql: prepared.get(payload.readUInt32LE(1)) ?? '?' });
          } else this.recording.push({ connection: id, kind: 'other', sql: `command 0x${cmd.toString(16)}` });
        }
        upstream.write(chunk);
      });
      // The server's answer to a prepare carries the statement id that later executes name.
      upstream.on('data', (chunk: Buffer) => {
        if (pendingPrepare !== null && chunk.length >= 9 && chunk[4] === 0x00) {
          prepared.set(chunk.readUInt32LE(5), pendingPrepare);
          pendingPrepare = null;
        }
        client.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Forgets what was recorded so far and returns it. */
  take(): RecordedStatement[] {
    const taken = this.recording;
    this.recording = [];
    return taken;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

import { listenTarget } from './listen-target';

const own = { port: 8000, host: '127.0.0.1' };

describe('listenTarget', () => {
  it('its own port without socket activation', () => {
    expect(listenTarget({}, { pid: 10, ppid: 1, isWorker: false }, own)).toEqual(own);
  });

  it('fd 3 when systemd passed a socket to this process', () => {
    expect(listenTarget({ LISTEN_FDS: '1', LISTEN_PID: '10' }, { pid: 10, ppid: 1, isWorker: false }, own)).toEqual({ fd: 3 });
  });

  it('not when LISTEN_PID names another process (the variables leaked into a child)', () => {
    expect(listenTarget({ LISTEN_FDS: '1', LISTEN_PID: '9' }, { pid: 10, ppid: 1, isWorker: false }, own)).toEqual(own);
    expect(listenTarget({ LISTEN_FDS: '0', LISTEN_PID: '10' }, { pid: 10, ppid: 1, isWorker: false }, own)).toEqual(own);
  });

  it('a cluster worker uses the socket its primary was given', () => {
    expect(listenTarget({ LISTEN_FDS: '1', LISTEN_PID: '10' }, { pid: 11, ppid: 10, isWorker: true }, own)).toEqual({ fd: 3 });
    expect(listenTarget({ LISTEN_FDS: '1', LISTEN_PID: '11' }, { pid: 11, ppid: 10, isWorker: true }, own)).toEqual(own);
  });
});

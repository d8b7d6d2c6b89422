import type { Server } from 'node:http';
import type { Socket } from 'node:net';

interface Watched {
  /** Bytes the kernel has taken from this socket so far. */
  flushed: number;
  /** When `flushed` last moved while bytes were queued. */
  movedAt: number;
}

/**
 * The connections of one listener. A connection whose queued bytes have not moved for
 * `stalledMs` (a reader that stopped reading, whatever it was sent: a growing segment, a complete
 * one, an answer after its response finished) is destroyed on the next sweep; the bytes it held
 * are released with it.
 */
export class ConnectionWatch {
  private readonly sockets = new Map<Socket, Watched>();

  constructor(
    server: Server,
    private readonly stalledMs: number,
    private readonly now: () => number,
    private readonly onStalled: () => void = () => {},
  ) {
    server.on('connection', (socket: Socket) => {
      this.sockets.set(socket, { flushed: 0, movedAt: now() });
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Bytes queued in user space for every connection (views of shared segments count once per connection). */
  get queuedBytes(): number {
    let n = 0;
    for (const s of this.sockets.keys()) n += s.writableLength;
    return n;
  }

  sweep(): void {
    const now = this.now();
    for (const [socket, w] of this.sockets) {
      const queued = socket.writableLength;
      const flushed = socket.bytesWritten - queued;
      if (queued === 0 || flushed !== w.flushed) {
        w.flushed = flushed;
        w.movedAt = now;
        continue;
      }
      if (now - w.movedAt > this.stalledMs && !socket.destroyed) {
        this.onStalled();
        socket.destroy();
      }
    }
  }

  /** Destroys every connection (the end of a shutdown). */
  destroyAll(): void {
    for (const socket of this.sockets.keys()) socket.destroy();
  }
}

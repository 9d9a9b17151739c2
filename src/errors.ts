// Errors carry Linux's errno names, so code written against Linux sockets (or Node,
// which reports the same names) can switch on err.code.
import { ERRNO_NAMES } from './gen/constants.js';

export class SocketError extends Error {
  /** Linux errno name, e.g. 'ECONNREFUSED'. */
  readonly code: string;
  /** Linux errno number (positive, as in C). */
  readonly errno: number;
  /** The call that failed, e.g. 'connect'. */
  readonly syscall: string;
  /** The remote or local address involved, when there is one. */
  readonly address?: string;
  readonly port?: number;

  constructor(errno: number, syscall: string, address?: string, port?: number) {
    const code = ERRNO_NAMES[errno] ?? `E${errno}`;
    const where = address !== undefined ? ` ${address}${port !== undefined ? `:${port}` : ''}` : '';
    super(`${syscall} ${code}${where}`);
    this.name = 'SocketError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (address !== undefined) this.address = address;
    if (port !== undefined) this.port = port;
  }
}

/** The stack itself failed (a wasm trap, or it was disposed); every socket is gone. */
export class StackError extends Error {
  readonly code: string;
  constructor(code: 'ESTACKDISPOSED' | 'ESTACKFAILED', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StackError';
    this.code = code;
  }
}

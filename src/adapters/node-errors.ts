// Errors shaped as Node's own: code 'ECONNREFUSED', a negative errno (libuv's
// convention), syscall, and address/port when one is involved, with messages worded as
// Node words them ("connect ECONNREFUSED 10.0.0.2:80"). The SocketError is kept as cause.
// Node-only code imports the package entry at run time, so SocketError is the same class.
import { SocketError, StackError } from '../index.js';

/** An error as Node's net and dgram modules report them. */
export interface NodeSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** libuv's wording, which Node puts in listen() errors. */
const DESCRIPTIONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  EACCES: 'permission denied',
  EINVAL: 'invalid argument',
  EAFNOSUPPORT: 'address family not supported',
  EMFILE: 'too many open files',
};

/** Syscall names Node reports for the stack's calls. */
const SYSCALLS: Record<string, string> = { recv: 'read', send: 'write' };

/**
 * Turns a SocketError into Node's shape; any other error is returned unchanged.
 * syscall overrides the error's own (dgram says 'recvmsg' where net says 'read').
 */
export function toNodeError(err: unknown, syscall?: string, address?: string, port?: number): unknown {
  if (!(err instanceof SocketError)) return err;
  const call = syscall ?? SYSCALLS[err.syscall] ?? err.syscall;
  const addr = address ?? err.address;
  const p = port ?? err.port;
  const where = addr !== undefined ? (p !== undefined ? ` ${addr}:${p}` : ` ${addr}`) : '';
  const desc = call === 'listen' && DESCRIPTIONS[err.code] ? `: ${DESCRIPTIONS[err.code]}` : '';
  const e = new Error(`${call} ${err.code}${desc}${where}`, { cause: err }) as NodeSystemError;
  e.errno = -err.errno;
  e.code = err.code;
  e.syscall = call;
  if (addr !== undefined) e.address = addr;
  if (p !== undefined) e.port = p;
  return e;
}

/**
 * The stack was disposed under the socket. That is a deliberate teardown, so the Node
 * adapters close quietly instead of emitting 'error' (which would throw with no listener).
 */
export function isDisposal(err: unknown): boolean {
  return err instanceof StackError && err.code === 'ESTACKDISPOSED';
}

/** An error with one of Node's own codes (ERR_SOCKET_CLOSED...), as Node's internal errors. */
export function nodeCodeError(code: string, message: string, ctor: new (m: string) => Error = Error): Error & { code: string } {
  const e = new ctor(message) as Error & { code: string };
  e.code = code;
  return e;
}

/** Node's getaddrinfo failure for a name nobody could resolve (UV_EAI_NONAME is -3008). */
export function notFound(hostname: string): NodeSystemError {
  const e = new Error(`getaddrinfo ENOTFOUND ${hostname}`) as NodeSystemError;
  e.errno = -3008;
  e.code = 'ENOTFOUND';
  e.syscall = 'getaddrinfo';
  e.hostname = hostname;
  return e;
}

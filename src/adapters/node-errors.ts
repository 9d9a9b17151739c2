// Errors shaped as Node's own, so code that switches on err.code, err.errno or the
// message behaves the same over a stack:
// - system errors ("connect ECONNREFUSED 10.0.0.2:80") with a negative errno (libuv's
//   convention), code, syscall, and address/port where Node sets them, in Node's order;
// - Node's own ERR_* errors for misuse, with Node's class (TypeError, RangeError) and
//   wording, and "TypeError [ERR_X]: ..." as the first line of the stack.
// Node-only code imports the package entry at run time, so SocketError is the same class.
import { getSystemErrorMap, inspect } from 'node:util';
import { SocketError, StackError } from '../index.js';

/** An error as Node's net, dgram and dns modules report them. */
export interface NodeSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
  localAddress?: string;
  localPort?: number;
}

/** An error with one of Node's own codes (ERR_SOCKET_CLOSED...). */
export type NodeCodeError = Error & { code: string };

let errorMap: Map<number, [string, string]> | undefined;

/** [code, description] for a negative libuv errno, as util.getSystemErrorMap gives. */
function uvError(errno: number): [string, string] {
  errorMap ??= getSystemErrorMap();
  return errorMap.get(errno) ?? [`Unknown system error ${errno}`, `Unknown system error ${errno}`];
}

/** The libuv errno (negative) for a Linux errno (positive): libuv uses -errno on Linux. */
export const uvErrno = (errno: number): number => -errno;

/** Node's ErrnoException: "syscall CODE". */
export function errnoException(errno: number, syscall: string, original?: string): NodeSystemError {
  const code = uvError(errno)[0];
  const e = new Error(original ? `${syscall} ${code} ${original}` : `${syscall} ${code}`) as NodeSystemError;
  e.errno = errno;
  e.code = code;
  e.syscall = syscall;
  return e;
}

function hostPort(address: string | undefined, port: number | undefined): string {
  if (port && port > 0) return ` ${address}:${port}`;
  return address ? ` ${address}` : '';
}

/** Node's ExceptionWithHostPort: "syscall CODE address:port" (no port when it is 0). */
export function exceptionWithHostPort(errno: number, syscall: string, address: string | undefined, port?: number,
  additional?: string): NodeSystemError {
  const code = uvError(errno)[0];
  const details = hostPort(address, port) + (additional ? ` - Local (${additional})` : '');
  const e = new Error(`${syscall} ${code}${details}`) as NodeSystemError;
  e.errno = errno;
  e.code = code;
  e.syscall = syscall;
  e.address = address as string;
  if (port) e.port = port;
  return e;
}

/** Node's UVExceptionWithHostPort (listen errors): "listen CODE: description address:port". */
export function uvExceptionWithHostPort(errno: number, syscall: string, address: string | undefined, port?: number): NodeSystemError {
  const [code, desc] = uvError(errno);
  const e = new Error(`${syscall} ${code}: ${desc}${hostPort(address, port)}`) as NodeSystemError;
  e.code = code;
  e.errno = errno;
  e.syscall = syscall;
  e.address = address as string;
  if (port) e.port = port;
  return e;
}

/** libuv's getaddrinfo errors, as Node's DNSException names them. */
export const EAI = { AGAIN: -3001, NONAME: -3008 } as const;

/** Node's DNSException: "getaddrinfo ENOTFOUND name" (EAI_NONAME becomes ENOTFOUND). */
export function dnsException(errno: number, syscall: string, hostname?: string): NodeSystemError {
  const code = errno === EAI.NONAME ? 'ENOTFOUND' : uvError(errno)[0];
  const e = new Error(`${syscall} ${code}${hostname ? ` ${hostname}` : ''}`) as NodeSystemError;
  e.errno = errno;
  e.code = code;
  e.syscall = syscall;
  if (hostname) e.hostname = hostname;
  return e;
}

/**
 * A SocketError from the stack in Node's shape (syscall overrides the stack's own name:
 * Node says 'read' where the stack says 'recv'); any other error is returned unchanged.
 */
export function toNodeError(err: unknown, syscall?: string, address?: string, port?: number, additional?: string): unknown {
  if (!(err instanceof SocketError)) return err;
  const e = exceptionWithHostPort(uvErrno(err.errno), syscall ?? err.syscall, address ?? err.address,
    port ?? err.port, additional);
  keepCause(e, err);
  return e;
}

/** The stack's own SocketError stays reachable as cause (not enumerable, as Error's option makes it). */
export function keepCause(e: Error, cause: SocketError): void {
  Object.defineProperty(e, 'cause', { value: cause, enumerable: false, writable: true, configurable: true });
}

/**
 * The stack was disposed under the socket. That is a deliberate teardown, so the Node
 * adapters close quietly instead of emitting 'error' (which would throw with no listener).
 */
export function isDisposal(err: unknown): boolean {
  return err instanceof StackError && err.code === 'ESTACKDISPOSED';
}

// --- Node's own errors ---------------------------------------------------------------

/** An error with one of Node's own codes, as lib/internal/errors.js makes them. */
export function nodeError(code: string, message: string, Ctor: new (m: string) => Error = Error): NodeCodeError {
  const e = new Ctor(message) as NodeCodeError;
  const name = e.name;
  // Node shows the code in the stack's first line and in toString(), not in name
  if (typeof e.stack === 'string' && e.stack.startsWith(`${name}: `)) e.stack = `${name} [${code}]${e.stack.slice(name.length)}`;
  Object.defineProperty(e, 'toString', {
    value(this: Error) {
      return `${this.name} [${code}]: ${this.message}`;
    },
    enumerable: false, writable: true, configurable: true,
  });
  e.code = code;
  return e;
}

/** What Node's messages say a received value was ("type number (5)", "an instance of Foo"). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'bigint': return `type bigint (${value}n)`;
    case 'number':
      if (value === 0) return 1 / value === -Infinity ? 'type number (-0)' : 'type number (0)';
      return `type number (${String(value)})`;
    case 'boolean': return `type boolean (${String(value)})`;
    case 'symbol': return `type symbol (${String(value)})`;
    case 'function': return `function ${(value as { name: string }).name}`;
    case 'object': {
      const ctor = (value as { constructor?: { name?: string } }).constructor;
      if (ctor && typeof ctor.name === 'string') return `an instance of ${ctor.name}`;
      return inspect(value, { depth: -1 });
    }
    case 'string': {
      const s = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return s.includes("'") ? `type string (${JSON.stringify(s)})` : `type string ('${s}')`;
    }
    default: return String(value);
  }
}

function formatList(items: string[], type = 'and'): string {
  return items.length < 3 ? items.join(` ${type} `) : `${items.slice(0, -1).join(', ')}, ${type} ${items[items.length - 1]}`;
}

const TYPES = ['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol'];

/** ERR_INVALID_ARG_TYPE, worded as Node words it. */
export function errInvalidArgType(name: string, expected: string | string[], actual: unknown): NodeCodeError {
  const list = Array.isArray(expected) ? expected : [expected];
  let msg = 'The ';
  msg += name.endsWith(' argument') ? `${name} ` : `"${name}" ${name.includes('.') ? 'property' : 'argument'} `;
  msg += 'must be ';
  const types: string[] = [];
  const instances: string[] = [];
  const other: string[] = [];
  for (const v of list) {
    if (TYPES.includes(v)) types.push(v.toLowerCase());
    else if (/^([A-Z][a-z0-9]*)+$/.test(v)) instances.push(v);
    else other.push(v);
  }
  if (instances.length > 0) {
    const pos = types.indexOf('object');
    if (pos !== -1) {
      types.splice(pos, 1);
      instances.push('Object');
    }
  }
  if (types.length > 0) {
    msg += `${types.length > 1 ? 'one of type' : 'of type'} ${formatList(types, 'or')}`;
    if (instances.length > 0 || other.length > 0) msg += ' or ';
  }
  if (instances.length > 0) {
    msg += `an instance of ${formatList(instances, 'or')}`;
    if (other.length > 0) msg += ' or ';
  }
  if (other.length > 0) {
    if (other.length > 1) msg += `one of ${formatList(other, 'or')}`;
    else msg += `${other[0]!.toLowerCase() !== other[0] ? 'an ' : ''}${other[0]}`;
  }
  return nodeError('ERR_INVALID_ARG_TYPE', `${msg}. Received ${describeValue(actual)}`, TypeError);
}

/** ERR_INVALID_ARG_VALUE. */
export function errInvalidArgValue(name: string, value: unknown, reason = 'is invalid'): NodeCodeError {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  return nodeError('ERR_INVALID_ARG_VALUE',
    `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${reason}. Received ${shown}`, TypeError);
}

/** ERR_OUT_OF_RANGE. */
export function errOutOfRange(name: string, range: string, input: unknown): NodeCodeError {
  let received: string;
  if (Number.isInteger(input) && Math.abs(input as number) > 2 ** 32) {
    received = String(input).replace(/\B(?=(\d{3})+(?!\d))/g, '_');
  } else {
    received = inspect(input);
  }
  return nodeError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${received}`, RangeError);
}

/** ERR_MISSING_ARGS: each argument a name, or a list of alternatives. */
export function errMissingArgs(...args: Array<string | string[]>): NodeCodeError {
  const wrap = (a: string): string => `"${a}"`;
  const names = args.map((a) => (Array.isArray(a) ? a.map(wrap).join(' or ') : wrap(a)));
  return nodeError('ERR_MISSING_ARGS', `The ${formatList(names)} argument${args.length > 1 ? 's' : ''} must be specified`, TypeError);
}

/** ERR_SOCKET_BAD_PORT. */
export function errSocketBadPort(name: string, port: unknown, allowZero = true): NodeCodeError {
  return nodeError('ERR_SOCKET_BAD_PORT',
    `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeValue(port)}.`, RangeError);
}

/** ERR_INVALID_IP_ADDRESS. */
export function errInvalidIpAddress(ip: unknown): NodeCodeError {
  return nodeError('ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(ip)}`, TypeError);
}

/** ERR_INVALID_ADDRESS_FAMILY, with host and port as Node sets them. */
export function errInvalidAddressFamily(addressType: unknown, host: unknown, port: unknown): NodeCodeError {
  const e = nodeError('ERR_INVALID_ADDRESS_FAMILY', `Invalid address family: ${String(addressType)} ${String(host)}:${String(port)}`, RangeError);
  Object.assign(e, { host, port });
  return e;
}

export const errSocketClosed = (): NodeCodeError => nodeError('ERR_SOCKET_CLOSED', 'Socket is closed');
export const errServerNotRunning = (): NodeCodeError => nodeError('ERR_SERVER_NOT_RUNNING', 'Server is not running.');

/** Node's AggregateError of every failed attempt (autoSelectFamily), coded as the first. */
export function aggregateError(errors: Error[]): AggregateError & { code?: string } {
  const e = new AggregateError(errors) as AggregateError & { code?: string };
  e.code = (errors[0] as { code?: string } | undefined)?.code;
  return e;
}

// Which of the adapters' objects keep a Node process alive, decided as libuv decides it
// for Node's own handles: a handle while it is active (a listening server, a socket that
// is reading, a bound UDP socket) and referenced (ref(), the default), and any request
// in flight (a lookup, a connect, a write waiting for room) whatever the handle's ref.
// The stack's own sockets are unref'd by the adapters (Socket#unref), so lwIP's timers
// never hold the process by themselves; one shared, otherwise idle interval does it while
// anything here is held.

let held = 0;
let keeper: ReturnType<typeof setInterval> | undefined;

function update(): void {
  if (held > 0) {
    keeper ??= setInterval(() => {}, 2 ** 30);
    keeper.ref();
  } else {
    keeper?.unref();
  }
}

/** One handle's part in the process's lifetime. */
export class Lifetime {
  #active = false;
  #ref = true;
  #requests = 0;
  #held = false;

  /** The handle is doing something that would keep its event source open (reading, listening). */
  active(on: boolean): void {
    this.#active = on;
    this.#update();
  }

  get referenced(): boolean {
    return this.#ref;
  }

  /** ref() / unref(). */
  ref(on: boolean): void {
    this.#ref = on;
    this.#update();
  }

  /** A request started (+1) or ended (-1). */
  request(delta: 1 | -1): void {
    this.#requests = Math.max(0, this.#requests + delta);
    this.#update();
  }

  /** Runs promise as a request: held until it settles. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.request(1);
    const done = (): void => this.request(-1);
    promise.then(done, done);
    return promise;
  }

  /** The handle is gone: nothing it did holds the process any more. */
  close(): void {
    this.#active = false;
    this.#requests = 0;
    this.#update();
  }

  #update(): void {
    const hold = this.#requests > 0 || (this.#active && this.#ref);
    if (hold === this.#held) return;
    this.#held = hold;
    held += hold ? 1 : -1;
    update();
  }
}

/**
 * Calls ok or fail from the event loop (a macrotask) once promise settles, as libuv
 * calls a request's callback from its loop: user code then runs outside any promise
 * (what it throws reaches 'uncaughtException'), and I/O on the stack's own loopback takes
 * a turn of the loop as it does on the OS's.
 */
export function whenSettled<T>(promise: Promise<T>, ok: (value: T) => void, fail: (err: unknown) => void): void {
  promise.then((v) => {
    setImmediate(ok, v);
  }, (e: unknown) => {
    setImmediate(fail, e);
  });
}

/**
 * Runs user code (a listener, a callback) from a promise continuation. An exception it
 * throws reaches 'uncaughtException' as it would from a Node socket's callback, instead
 * of rejecting the adapter's own promise. Returns false if fn threw.
 */
export function callout(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    process.nextTick(rethrow, err);
    return false;
  }
}

function rethrow(err: unknown): never {
  throw err;
}

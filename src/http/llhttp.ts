// llhttp (Node's and undici's HTTP/1.1 parser) as a small wasm of its own, built from
// Debian's generated C (llhttp/VERSION) with llhttp's own wasm glue: it calls back into
// JS (wasm_on_*) with spans of the bytes it was given. One instance serves every parser
// in the process. The wasm is its own file (llhttp.wasm beside the package's code, or
// the bytes lwip-wasm/inline-fetch carries), loaded on the first fetch, so apps that
// never fetch do not carry it. Body spans are handed out as views of the caller's
// chunk, so body bytes are never copied out of the parser's memory.
import { defaultLlhttpWasm } from '../bindings/default-wasm.js';
import { loadModule, missingDefault } from '../bindings/load.js';

interface LlhttpExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  malloc(n: number): number;
  free(p: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(p: number): void;
  llhttp_execute(p: number, data: number, len: number): number;
  llhttp_finish(p: number): number;
  llhttp_resume(p: number): void;
  llhttp_reset(p: number): void;
  llhttp_get_error_reason(p: number): number;
  llhttp_get_error_pos(p: number): number;
  llhttp_errno_name(e: number): number;
  llhttp_get_http_major(p: number): number;
  llhttp_get_http_minor(p: number): number;
}

const HTTP_RESPONSE = 2;
const HPE_OK = 0;
const HPE_PAUSED = 21;

/** What a parser reports, span by span. */
export interface ResponseEvents {
  onHead(status: number, statusText: string, headers: [string, string][], keepAlive: boolean, version: string): number | void;
  onBody(chunk: Uint8Array): void;
  onComplete(): void;
}

import { HttpParserError } from './errors.js';

let runtime: Promise<Runtime> | undefined;

class Runtime {
  readonly ex: LlhttpExports;
  readonly parsers = new Map<number, ResponseParser>();
  #buf = 0;
  #cap = 0;

  constructor(ex: LlhttpExports) {
    this.ex = ex;
  }

  cstring(p: number): string {
    const u8 = new Uint8Array(this.ex.memory.buffer);
    let end = p;
    while (end < u8.length && u8[end] !== 0) end++;
    return new TextDecoder().decode(u8.subarray(p, end));
  }

  /** Copies chunk into the parser's memory; returns where. */
  input(chunk: Uint8Array): number {
    if (chunk.length > this.#cap) {
      if (this.#buf) this.ex.free(this.#buf);
      this.#cap = Math.max(chunk.length, 65536);
      this.#buf = this.ex.malloc(this.#cap);
      if (this.#buf === 0) throw new RangeError('lwip-wasm: out of memory for the HTTP parser');
    }
    new Uint8Array(this.ex.memory.buffer, this.#buf, chunk.length).set(chunk);
    return this.#buf;
  }
}

/** The parser's wasm, compiled. */
function compile(): Promise<WebAssembly.Module> {
  const source = defaultLlhttpWasm();
  return loadModule(source).catch(missingDefault(source, "stack.fetch's HTTP parser, llhttp.wasm,",
    "`import 'lwip-wasm/inline-fetch'` beside lwip-wasm/inline"));
}

function load(): Promise<Runtime> {
  if (runtime) return runtime;
  const loading = (async () => {
    let rt: Runtime | undefined;
    const span = (name: 'status' | 'field' | 'value' | 'body') => (p: number, at: number, len: number): number =>
      rt!.parsers.get(p)?._span(name, at, len) ?? 0;
    const env = {
      wasm_on_message_begin: (p: number) => rt!.parsers.get(p)?._begin() ?? 0,
      wasm_on_url: () => 0,
      wasm_on_status: span('status'),
      wasm_on_header_field: span('field'),
      wasm_on_header_value: span('value'),
      wasm_on_headers_complete: (p: number, status: number, _upgrade: number, keepAlive: number) =>
        rt!.parsers.get(p)?._head(status, keepAlive !== 0) ?? 0,
      wasm_on_body: span('body'),
      wasm_on_message_complete: (p: number) => rt!.parsers.get(p)?._complete() ?? 0,
      emscripten_notify_memory_growth: () => {},
    };
    const wasi = { proc_exit: () => { throw new Error('llhttp exited'); } };
    const module = await compile();
    const instance = await WebAssembly.instantiate(module, { env, wasi_snapshot_preview1: wasi });
    const ex = instance.exports as unknown as LlhttpExports;
    ex._initialize();
    rt = new Runtime(ex);
    return rt;
  })();
  runtime = loading;
  loading.catch(() => {
    if (runtime === loading) runtime = undefined;
  });
  return loading;
}

const latin1 = new TextDecoder('latin1');

/** A parser of HTTP/1.1 responses on one connection. */
export class ResponseParser {
  readonly #rt: Runtime;
  readonly #p: number;
  #events: ResponseEvents | undefined;
  #chunk: Uint8Array = new Uint8Array(0);
  #base = 0;
  #statusText = '';
  #headers: [string, string][] = [];
  #field = '';
  #value = '';
  #last: 'field' | 'value' | '' = '';
  #done = false;
  /** The final (non-1xx) head of this exchange has been seen. */
  #final = false;

  private constructor(rt: Runtime) {
    this.#rt = rt;
    this.#p = rt.ex.llhttp_alloc(HTTP_RESPONSE);
    if (this.#p === 0) throw new RangeError('lwip-wasm: out of memory for the HTTP parser');
    rt.parsers.set(this.#p, this);
  }

  static async create(): Promise<ResponseParser> {
    return new ResponseParser(await load());
  }

  /** Starts loading the wasm (the first fetch does so while it connects); never rejects. */
  static preload(): void {
    load().catch(() => {});
  }

  /** Parses the next response with these callbacks (one exchange on the connection). */
  expect(events: ResponseEvents): void {
    this.#events = events;
    this.#done = false;
    this.#final = false;
  }

  /** Feeds bytes; returns true once the response is complete (the parser then waits). */
  execute(chunk: Uint8Array): boolean {
    const ex = this.#rt.ex;
    this.#chunk = chunk;
    this.#base = this.#rt.input(chunk);
    const err = ex.llhttp_execute(this.#p, this.#base, chunk.length);
    if (err === HPE_PAUSED) {
      ex.llhttp_resume(this.#p);
      return true;
    }
    if (err !== HPE_OK) throw this.#error(err);
    return this.#done;
  }

  /** The connection ended: a response delimited by the close completes; any other is cut short. */
  finish(): boolean {
    const err = this.#rt.ex.llhttp_finish(this.#p);
    if (err !== HPE_OK && err !== HPE_PAUSED) throw this.#error(err);
    return this.#done;
  }

  #error(err: number): HttpParserError {
    const ex = this.#rt.ex;
    return new HttpParserError(this.#rt.cstring(ex.llhttp_errno_name(err)), this.#rt.cstring(ex.llhttp_get_error_reason(this.#p)));
  }

  free(): void {
    this.#rt.parsers.delete(this.#p);
    this.#rt.ex.llhttp_free(this.#p);
  }

  // --- llhttp's callbacks ---------------------------------------------------------------

  _begin(): number {
    this.#statusText = '';
    this.#headers = [];
    this.#field = '';
    this.#value = '';
    this.#last = '';
    return 0;
  }

  _span(kind: 'status' | 'field' | 'value' | 'body', at: number, len: number): number {
    const view = this.#chunk.subarray(at - this.#base, at - this.#base + len);
    if (kind === 'body') {
      this.#events?.onBody(view);
      return 0;
    }
    const s = latin1.decode(view);
    if (kind === 'status') this.#statusText += s;
    else if (kind === 'field') {
      if (this.#last === 'value') this.#push();
      this.#field += s;
      this.#last = 'field';
    } else {
      this.#value += s;
      this.#last = 'value';
    }
    return 0;
  }

  #push(): void {
    this.#headers.push([this.#field, this.#value.trim()]);
    this.#field = '';
    this.#value = '';
  }

  _head(status: number, keepAlive: boolean): number {
    if (this.#last === 'value' || this.#field) this.#push();
    this.#last = '';
    if (status >= 100 && status < 200 && status !== 101) return 0; // informational: the real one follows
    this.#final = true;
    const ex = this.#rt.ex;
    const version = `${ex.llhttp_get_http_major(this.#p)}.${ex.llhttp_get_http_minor(this.#p)}`;
    return this.#events?.onHead(status, this.#statusText, this.#headers, keepAlive, version) ?? 0;
  }

  _complete(): number {
    if (!this.#events || !this.#final) return 0; // after a 1xx: the parser goes on to the next
    this.#done = true;
    const ev = this.#events;
    this.#events = undefined;
    ev.onComplete();
    return HPE_PAUSED;
  }
}

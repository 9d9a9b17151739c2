// The --demo extras: a page that runs the stack in the browser, the package's built
// files for it, and a small HTTP server on the relay host's loopback for the page to
// fetch through the relay (allowed explicitly: the default filter denies loopback).
import { createServer, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_PAGE } from './demo-page.js';
import type { DemoOptions, Resolved } from './options.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json',
};

/** The body the loopback server returns: big enough to span many segments, easy to check. */
export function demoBody(): string {
  const lines = ['<!doctype html><title>relay host</title><h1>Hello from the relay host\'s loopback</h1>'];
  for (let i = 0; i < 1000; i++) lines.push(`<p>line ${String(i).padStart(4, '0')}: fetched by lwIP in WebAssembly, through the relay</p>`);
  return `${lines.join('\n')}\n`;
}

export class Demo {
  readonly #dist: string;
  readonly #target: Server;
  readonly port: number;

  private constructor(dist: string, target: Server, port: number) {
    this.#dist = dist;
    this.#target = target;
    this.port = port;
  }

  static async start(o: DemoOptions): Promise<Demo> {
    // dist/relay.js sits beside index.js and lwip.wasm.
    const dist = o.dist ?? dirname(fileURLToPath(import.meta.url));
    const body = demoBody();
    const target = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve, reject) => {
      target.once('error', reject);
      target.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = target.address();
    return new Demo(dist, target, typeof addr === 'object' && addr ? addr.port : 0);
  }

  /** The filter rule that lets clients reach the loopback server (and only it). */
  get allowRule(): string {
    return `tcp/127.0.0.1:${this.port}`;
  }

  /** Serves the page, its config and the package files; false for paths it does not know. */
  serve(path: string, res: ServerResponse, ctx: { ws: string; mode: Resolved }): boolean {
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(DEMO_PAGE);
      return true;
    }
    if (path === '/demo/config.json') {
      const nat = ctx.mode.nat;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({
        ip: `${nat.address}/${nat.prefix}`, gateway: nat.gateway, mtu: nat.mtu,
        target: { address: nat.gateway, port: this.port, path: '/' },
      }));
      return true;
    }
    if (path.startsWith('/dist/')) {
      const rel = normalize(decodeURIComponent(path.slice('/dist/'.length)));
      if (rel.startsWith('..') || rel.includes(`${sep}..`) || rel.startsWith(sep)) {
        res.writeHead(404).end();
        return true;
      }
      const ext = rel.slice(rel.lastIndexOf('.'));
      readFile(join(this.#dist, rel)).then(
        (bytes) => res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream' }).end(bytes),
        () => res.writeHead(404).end(),
      );
      return true;
    }
    return false;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#target.closeAllConnections?.();
      this.#target.close(() => resolve());
    });
  }
}

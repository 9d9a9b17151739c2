// The browser build's stand-in for read-file.ts: a page has no file system.
export async function readFileUrl(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  throw new Error(`lwip-wasm: a browser cannot read ${url.href}; give Stack.create({ wasm }) a URL the page can fetch, the bytes, or a module`);
}

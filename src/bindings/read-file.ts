// Reads the bytes behind a file: URL, in Node. The browser build (dist/browser.js,
// dist/inline.js) swaps this module for read-file.browser.ts, so a browser bundle never
// reaches a node: module.
export async function readFileUrl(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  const fs = await import('node:fs/promises');
  return new Uint8Array(await fs.readFile(url));
}

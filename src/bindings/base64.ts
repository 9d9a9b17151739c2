// A wasm carried as base64 text (the inline entries), back to bytes. atob is in every
// runtime this package supports (browsers, Node 16+), so no Buffer.
export function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

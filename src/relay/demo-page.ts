// The demo page (served at / with --demo). Placeholder until the WebSocket link lands.
export const DEMO_PAGE = `<!doctype html><meta charset="utf-8"><title>lwip-wasm relay demo</title><p>loading…</p>`;

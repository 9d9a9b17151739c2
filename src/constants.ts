// Every constant of the public API. The socket, poll, flag and errno values come from
// wasm/lw_const.h through the generated module, so C and TypeScript share one source.
export * from './gen/constants.js';

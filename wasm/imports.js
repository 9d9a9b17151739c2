// The wasm's imports (module "env"), declared for emscripten's linker so that any other
// undefined symbol fails the link (-sERROR_ON_UNDEFINED_SYMBOLS=1). The bodies are
// never used: the wasm is standalone and src/bindings/load.ts supplies the imports.
mergeInto(LibraryManager.library, {
  js_now: function () {},
  js_rand: function () {},
  js_diag: function (msg, len) {},
  js_assert: function (msg, len) {},
});

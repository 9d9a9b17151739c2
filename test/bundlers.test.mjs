// The package as a browser app's dependency: a tiny app built with esbuild, webpack,
// rollup and vite, each with no flags of its own for lwip-wasm, then loaded in headless
// Chromium. The app runs a TCP echo between two stacks (lwip.wasm), and stack.fetch over
// http: and https: between two stacks with TLS (lwip-tls.wasm, and llhttp.wasm for the
// parser). The package is what `npm pack` puts in the tarball, unpacked into the app's
// node_modules. esbuild and rollup do not copy the files a `new URL(..., import.meta.url)`
// names, so their apps use lwip-wasm/inline with lwip-wasm/inline-tls and
// lwip-wasm/inline-fetch; webpack and vite use lwip-wasm itself and copy the wasm files
// on their own. The parser rides in no bundle that did not ask for it.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { it, withTimeout } from './helpers.mjs';
import { CHROMIUM, haveChromium, launchChromium } from './util-browser.mjs';
import { makePki, hasOpenssl } from './util-tls.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

const APP = (from, pki, extra = []) => `
import { Stack, createPair, AF_INET, SOCK_STREAM } from '${from}';
${extra.map((e) => `import '${e}';`).join('\n')}
const PKI = ${JSON.stringify(pki)};

/** Answers every request on a stream listener with "hello", keeping the connection. */
async function serve(listener) {
  for await (const conn of listener) {
    (async () => {
      const r = conn.readable.getReader();
      const w = conn.writable.getWriter();
      let buf = '';
      for (;;) {
        const { value, done } = await r.read();
        if (done) break;
        buf += new TextDecoder().decode(value);
        for (let end; (end = buf.indexOf('\\r\\n\\r\\n')) >= 0;) {
          buf = buf.slice(end + 4);
          await w.write('HTTP/1.1 200 OK\\r\\ncontent-length: 5\\r\\n\\r\\nhello');
        }
      }
    })().catch(() => {});
  }
}

async function run() {
  const [la, lb] = createPair();
  const a = await Stack.create();
  const b = await Stack.create();
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 7);
  l.listen(4);
  const c = a.socket(AF_INET, SOCK_STREAM);
  const [s] = await Promise.all([l.accept(), c.connect('10.0.0.2', 7)]);
  await c.send('ping over lwIP');
  const got = new TextDecoder().decode(await s.recv());
  await s.send(got.toUpperCase());
  const back = new TextDecoder().decode(await c.recv());
  a.dispose();
  b.dispose();

  const [lc, ld] = createPair();
  const client = await Stack.create({ tls: true });
  const server = await Stack.create({ tls: true });
  client.addInterface(lc, { ip: '10.0.0.1/24' });
  server.addInterface(ld, { ip: '10.0.0.2/24' });
  const plain = server.listen({ port: 80 });
  const secure = server.listen({ port: 443, secureTransport: 'on', cert: PKI.cert, key: PKI.key });
  serve(plain);
  serve(secure);
  const overHttp = await (await client.fetch('http://10.0.0.2/')).text();
  const overHttps = await (await client.fetch('https://10.0.0.2/', { tls: { ca: PKI.ca } })).text();
  plain.close();
  secure.close();
  client.dispose();
  server.dispose();
  return [back, overHttp, overHttps].join(' ');
}
run().then((r) => { window.result = r; }, (e) => { window.result = 'error: ' + (e && e.stack || e) + (e && e.cause ? ' cause: ' + (e.cause.stack || e.cause) : ''); });
`;

// lwip-wasm/inline alone, in an app that then asks for TLS and fetch: both fail, saying
// which import would have carried the file.
const BARE = `
import { Stack, createPair, AF_INET, SOCK_STREAM } from 'lwip-wasm/inline';
async function run() {
  const out = [];
  await Stack.create({ tls: true }).then(() => out.push('no error'), (e) => out.push(e.message));
  const [la, lb] = createPair();
  const a = await Stack.create();
  const b = await Stack.create();
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 80);
  l.listen(4);
  await a.fetch('http://10.0.0.2/').then(() => out.push('no error'), (e) => out.push(e.name + ': ' + (e.cause && e.cause.message)));
  a.dispose();
  b.dispose();
  return out;
}
run().then((r) => { window.result = r; }, (e) => { window.result = ['error: ' + (e && e.stack || e)]; });
`;

const HTML = (script) => `<!doctype html><meta charset="utf-8"><title>app</title><script type="module" src="${script}"></script>`;

/** The files npm pack would ship, unpacked into app/node_modules/lwip-wasm. */
function installPacked(app) {
  // Bounded, as every step here, so a step that hangs fails the test and says which.
  const out = execFileSync('npm', ['pack', '--pack-destination', app, '--ignore-scripts', '--silent'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const tarball = join(app, out.trim().split('\n').pop());
  const dest = join(app, 'node_modules', 'lwip-wasm');
  mkdirSync(dest, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1'], { timeout: 60_000 });
  rmSync(tarball);
}

/** Serves dir over HTTP on loopback; resolves { url, close }. */
async function serve(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const p = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!p.startsWith(dir) || !existsSync(p) || statSync(p).isDirectory()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[extname(p)] ?? 'application/octet-stream' }).end(readFileSync(p));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

const INLINE = ['lwip-wasm/inline-tls', 'lwip-wasm/inline-fetch'];
const builders = {
  async esbuild(app, pki) {
    const esbuild = await import('esbuild');
    writeFileSync(join(app, 'main.js'), APP('lwip-wasm/inline', pki, INLINE));
    await esbuild.build({ absWorkingDir: app, entryPoints: ['main.js'], bundle: true, format: 'esm', platform: 'browser', outfile: 'out/main.js', logLevel: 'silent' });
    writeFileSync(join(app, 'out', 'index.html'), HTML('./main.js'));
    // An app on lwip-wasm/inline alone, built aside: it carries neither the parser nor
    // the TLS wasm, and says which import it lacks (checked below).
    writeFileSync(join(app, 'bare.js'), BARE);
    await esbuild.build({ absWorkingDir: app, entryPoints: ['bare.js'], bundle: true, format: 'esm', platform: 'browser', outfile: 'aside/bare.js', logLevel: 'silent' });
    writeFileSync(join(app, 'aside', 'index.html'), HTML('./bare.js'));
    return join(app, 'out');
  },
  async webpack(app, pki) {
    const { default: webpack } = await import('webpack');
    writeFileSync(join(app, 'main.js'), APP('lwip-wasm', pki));
    const stats = await new Promise((resolve, reject) => webpack({
      context: app, mode: 'production', target: 'web', entry: './main.js',
      output: { path: join(app, 'out'), filename: 'main.js', module: true },
      experiments: { outputModule: true },
    }, (err, s) => (err ? reject(err) : resolve(s))));
    if (stats.hasErrors()) throw new Error(stats.toString({ all: false, errors: true }));
    writeFileSync(join(app, 'out', 'index.html'), HTML('./main.js'));
    return join(app, 'out');
  },
  async rollup(app, pki) {
    const { rollup } = await import('rollup');
    const { nodeResolve } = await import('@rollup/plugin-node-resolve');
    writeFileSync(join(app, 'main.js'), APP('lwip-wasm/inline', pki, INLINE));
    const bundle = await rollup({ input: join(app, 'main.js'), plugins: [nodeResolve({ browser: true, rootDir: app })], onwarn: () => {} });
    await bundle.write({ file: join(app, 'out', 'main.js'), format: 'es' });
    writeFileSync(join(app, 'out', 'index.html'), HTML('./main.js'));
    return join(app, 'out');
  },
  async vite(app, pki) {
    const { build } = await import('vite');
    writeFileSync(join(app, 'main.js'), APP('lwip-wasm', pki));
    writeFileSync(join(app, 'index.html'), HTML('./main.js'));
    await build({ root: app, logLevel: 'silent', configFile: false, build: { outDir: join(app, 'out'), emptyOutDir: true } });
    return join(app, 'out');
  },
};

const reason = !haveChromium ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : !hasOpenssl() ? 'no openssl for the test certificates' : null;
/** A stretch of a file's base64 (from a 3-byte boundary): found in a bundle only if the file rides inside it. */
const marker = (bytes) => bytes.toString('base64').slice(4000, 4080);

for (const [name, buildApp] of Object.entries(builders)) {
  const title = `${name}: an app built with no lwip-wasm flags runs a TCP echo, and stack.fetch over http: and https:, in Chromium`;
  if (reason) {
    console.log(`skipping "${title}": ${reason}`);
    test.skip(title);
    continue;
  }
  it(title, async () => {
    const app = mkdtempSync(join(tmpdir(), `lwip-${name}-`));
    const pki = makePki();
    let server;
    let browser;
    try {
      installPacked(app);
      const out = await withTimeout(buildApp(app, { ca: pki.ca, cert: pki.server.cert, key: pki.server.key }), 90_000, `the ${name} build`);
      const files = readdirSync(out, { recursive: true }).map(String);
      server = await serve(out);
      browser = await withTimeout(launchChromium(), 60_000, 'launching Chromium');
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(server.url);
      await page.waitForFunction('window.result !== undefined', null, { timeout: 30_000 });
      assert.is(await page.evaluate('window.result'), 'PING OVER LWIP hello hello', `files: ${files.join(', ')}`);
      assert.equal(errors, []);
      const js = files.filter((f) => /\.m?js$/.test(f)).map((f) => readFileSync(join(out, f), 'utf8')).join('\n');
      assert.not.match(js, /from\s*["']node:|import\(["']node:/, 'the bundle reaches no node: module');
      // The parser: inside the bundle only where lwip-wasm/inline-fetch was imported;
      // otherwise a file of its own, which the bundler copied.
      const dist = join(app, 'node_modules', 'lwip-wasm', 'dist');
      const llhttp = readFileSync(join(dist, 'llhttp.wasm'));
      const wasmFiles = files.filter((f) => f.endsWith('.wasm')).map((f) => readFileSync(join(out, f)));
      if (name === 'esbuild' || name === 'rollup') {
        assert.ok(js.includes(marker(llhttp)), 'lwip-wasm/inline-fetch put the parser in the bundle');
        assert.is(wasmFiles.length, 0, `no wasm file beside the bundle: ${files.join(', ')}`);
      } else {
        assert.not.ok(js.includes(marker(llhttp)), 'the parser is not in the bundle');
        assert.ok(wasmFiles.some((w) => w.equals(llhttp)), `llhttp.wasm was copied: ${files.join(', ')}`);
      }
      if (name === 'esbuild') {
        const bare = readFileSync(join(app, 'aside', 'bare.js'), 'utf8');
        assert.not.ok(bare.includes(marker(llhttp)), 'lwip-wasm/inline alone does not carry the parser');
        assert.not.ok(bare.includes(marker(readFileSync(join(dist, 'lwip-tls.wasm')))), 'nor the TLS wasm');
        assert.ok(bare.includes(marker(readFileSync(join(dist, 'lwip.wasm')))), 'but the stack\'s wasm');
        const aside = await serve(join(app, 'aside'));
        try {
          const p2 = await browser.newPage();
          await p2.goto(aside.url);
          await p2.waitForFunction('window.result !== undefined', null, { timeout: 20_000 });
          const [tlsErr, fetchErr] = await p2.evaluate('window.result');
          assert.match(tlsErr, /could not load lwip-tls\.wasm .*import 'lwip-wasm\/inline-tls'/, tlsErr);
          assert.match(fetchErr, /^TypeError: .*llhttp\.wasm.*import 'lwip-wasm\/inline-fetch'/, fetchErr);
        } finally {
          await aside.close();
        }
      }
    } finally {
      await (browser ? withTimeout(browser.close(), 20_000, 'closing Chromium') : null)?.catch((e) => console.log(`    ${e.message}`));
      await server?.close();
      pki.dispose();
      rmSync(app, { recursive: true, force: true });
    }
  }, 180_000);
}

test.run();

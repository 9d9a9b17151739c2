// The package as a browser app's dependency: a tiny app (two stacks on an in-memory pair,
// one TCP echo) built with esbuild, webpack, rollup and vite, each with no flags of its
// own for lwip-wasm, then loaded in headless Chromium. The package is what `npm pack`
// puts in the tarball, unpacked into the app's node_modules. esbuild and rollup use
// lwip-wasm/inline (they do not copy the wasm a `new URL(..., import.meta.url)` names);
// webpack and vite use lwip-wasm itself and copy the wasm on their own.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { it } from './helpers.mjs';
import { CHROMIUM, haveChromium, launchChromium } from './util-browser.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

const APP = (from) => `
import { Stack, createPair, AF_INET, SOCK_STREAM } from '${from}';

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
  return back;
}
run().then((r) => { window.result = r; }, (e) => { window.result = 'error: ' + (e && e.stack || e); });
`;

const HTML = (script) => `<!doctype html><meta charset="utf-8"><title>app</title><script type="module" src="${script}"></script>`;

/** The files npm pack would ship, unpacked into app/node_modules/lwip-wasm. */
function installPacked(app) {
  const out = execFileSync('npm', ['pack', '--pack-destination', app, '--ignore-scripts', '--silent'], { cwd: root, encoding: 'utf8' });
  const tarball = join(app, out.trim().split('\n').pop());
  const dest = join(app, 'node_modules', 'lwip-wasm');
  mkdirSync(dest, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1']);
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
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

const builders = {
  async esbuild(app) {
    const esbuild = await import('esbuild');
    writeFileSync(join(app, 'main.js'), APP('lwip-wasm/inline'));
    await esbuild.build({ absWorkingDir: app, entryPoints: ['main.js'], bundle: true, format: 'esm', platform: 'browser', outfile: 'out/main.js', logLevel: 'silent' });
    writeFileSync(join(app, 'out', 'index.html'), HTML('./main.js'));
    return join(app, 'out');
  },
  async webpack(app) {
    const { default: webpack } = await import('webpack');
    writeFileSync(join(app, 'main.js'), APP('lwip-wasm'));
    const stats = await new Promise((resolve, reject) => webpack({
      context: app, mode: 'production', target: 'web', entry: './main.js',
      output: { path: join(app, 'out'), filename: 'main.js', module: true },
      experiments: { outputModule: true },
    }, (err, s) => (err ? reject(err) : resolve(s))));
    if (stats.hasErrors()) throw new Error(stats.toString({ all: false, errors: true }));
    writeFileSync(join(app, 'out', 'index.html'), HTML('./main.js'));
    return join(app, 'out');
  },
  async rollup(app) {
    const { rollup } = await import('rollup');
    const { nodeResolve } = await import('@rollup/plugin-node-resolve');
    writeFileSync(join(app, 'main.js'), APP('lwip-wasm/inline'));
    const bundle = await rollup({ input: join(app, 'main.js'), plugins: [nodeResolve({ browser: true, rootDir: app })], onwarn: () => {} });
    await bundle.write({ file: join(app, 'out', 'main.js'), format: 'es' });
    writeFileSync(join(app, 'out', 'index.html'), HTML('./main.js'));
    return join(app, 'out');
  },
  async vite(app) {
    const { build } = await import('vite');
    writeFileSync(join(app, 'main.js'), APP('lwip-wasm'));
    writeFileSync(join(app, 'index.html'), HTML('./main.js'));
    await build({ root: app, logLevel: 'silent', configFile: false, build: { outDir: join(app, 'out'), emptyOutDir: true } });
    return join(app, 'out');
  },
};

const reason = haveChromium ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
for (const [name, buildApp] of Object.entries(builders)) {
  const title = `${name}: an app built with no lwip-wasm flags runs a TCP echo between two stacks in Chromium`;
  if (reason) {
    console.log(`skipping "${title}": ${reason}`);
    test.skip(title);
    continue;
  }
  it(title, async () => {
    const app = mkdtempSync(join(tmpdir(), `lwip-${name}-`));
    let server;
    let browser;
    try {
      installPacked(app);
      const out = await buildApp(app);
      const files = readdirSync(out, { recursive: true }).map(String);
      server = await serve(out);
      browser = await launchChromium();
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(server.url);
      await page.waitForFunction('window.result !== undefined', null, { timeout: 20_000 });
      assert.is(await page.evaluate('window.result'), 'PING OVER LWIP', `files: ${files.join(', ')}`);
      assert.equal(errors, []);
      const bundle = readFileSync(join(out, files.find((f) => f.endsWith('.js') && !f.endsWith('.map'))), 'utf8');
      assert.not.match(bundle, /from\s*["']node:|import\(["']node:/, 'the bundle reaches no node: module');
    } finally {
      await browser?.close();
      await server?.close();
      rmSync(app, { recursive: true, force: true });
    }
  }, 120_000);
}

test.run();

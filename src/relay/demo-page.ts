// The demo page (served at / with --demo): the stack runs in the tab, reaches the relay
// with the WebSocket link, and fetches a page from the relay host's loopback through it.
// window.demo.done resolves with what it fetched, for the browser test.
export const DEMO_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>lwip-wasm: a TCP/IP stack in this tab, through the relay</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2em; max-width: 70em; }
  pre { background: #f4f4f4; padding: 0.8em; overflow: auto; max-height: 24em; font-size: 12px; }
  #status { font-weight: bold; }
</style>
<h1>lwIP in WebAssembly, through the relay</h1>
<p>This page runs a TCP/IP stack (lwIP compiled to WebAssembly). Its ethernet frames go
over a WebSocket to the relay, where a gateway of its own (another lwIP stack) takes its
connections and opens the ones the relay allows for real. The stack
fetches a page from a server on the relay host's loopback, which this demo's relay
allows explicitly (everything else there is denied).</p>
<p id="status">starting…</p>
<h2>Fetched</h2><pre id="body"></pre>
<h2>Sockets (ss)</h2><pre id="ss"></pre>
<h2>Log</h2><pre id="log"></pre>
<script type="module">
import { Stack, connectWebSocket, formatSs, AF_INET, SOCK_STREAM } from '/dist/index.js';

const $ = (id) => document.getElementById(id);
const lines = [];
const t0 = performance.now();
function log(line) {
  lines.push(line);
  $('log').textContent += '+' + (performance.now() - t0).toFixed(0).padStart(5) + ' ms  ' + line + '\\n';
}
const showSs = (stack) => { $('ss').textContent = formatSs(stack.ss()); return $('ss').textContent; };

async function run() {
  const cfg = await (await fetch('/demo/config.json')).json();
  const url = new URL('/', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams(location.search).get('token');
  if (token) url.searchParams.set('token', token);
  const stack = await Stack.create({ onLog: (l) => log('lwip: ' + l) });
  log('stack created');
  const link = connectWebSocket(url.href, {
    reconnect: true,
    onOpen: () => log('link: connected to ' + url.host),
    onReconnecting: ({ attempt, delay, error }) => log('link: ' + error.message + '; reconnect #' + attempt + ' in ' + delay + ' ms'),
    onClose: (err) => log('link: closed' + (err ? ': ' + err.message : '')),
  });
  await link.ready;
  let nif;
  try {
    log('DHCP: asking the relay\\'s gateway for an address');
    nif = await stack.addInterface(link, { ip: 'dhcp', dhcp: { timeout: 10000 } });
    log('DHCP: leased ' + nif.dhcp.address + '/' + nif.dhcp.prefix + ' from ' + nif.dhcp.server + ', gateway ' + nif.dhcp.gateway);
  } catch (err) {
    // No answer: the addresses the gateway would have handed out.
    log('DHCP: ' + (err && err.message) + '; using ' + cfg.ip + ' via ' + cfg.gateway);
    nif = stack.addInterface(link, { ip: cfg.ip, gateway: cfg.gateway });
  }
  log('en0 ' + nif.mac + ' ' + nif.ipv4.address + '/' + nif.ipv4.prefix + ' via ' + nif.ipv4.gateway);

  const sock = stack.socket(AF_INET, SOCK_STREAM);
  log('connecting to ' + cfg.target.address + ':' + cfg.target.port + ' (the relay host\\'s 127.0.0.1)');
  await sock.connect(cfg.target.address, cfg.target.port, { timeout: 10000 });
  const local = sock.getsockname();
  log('connected ' + local.address + ':' + local.port + ' -> ' + cfg.target.address + ':' + cfg.target.port);
  await sock.send('GET ' + cfg.target.path + ' HTTP/1.1\\r\\nHost: relay-host\\r\\nConnection: close\\r\\n\\r\\n');
  const ssDuring = showSs(stack);
  const chunks = [];
  let total = 0;
  for (;;) {
    const d = await sock.recv(65536, { timeout: 10000 });
    if (d.length === 0) break;
    chunks.push(d);
    total += d.length;
  }
  sock.close();
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) { all.set(c, off); off += c.length; }
  const text = new TextDecoder().decode(all);
  const split = text.indexOf('\\r\\n\\r\\n');
  const head = text.slice(0, split);
  const body = all.subarray(new TextEncoder().encode(text.slice(0, split + 4)).length);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
  const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  log('received ' + total + ' bytes: ' + head.split('\\r\\n')[0] + ', body ' + body.length + ' bytes, sha256 ' + sha256.slice(0, 16) + '…');
  $('body').textContent = new TextDecoder().decode(body).slice(0, 2000);
  showSs(stack);
  $('status').textContent = 'done: ' + head.split('\\r\\n')[0] + ', ' + body.length + ' bytes through the relay';
  return { status: Number(head.split(' ')[1]), bodyLength: body.length, sha256, ssDuring, log: lines.slice(), lease: nif.dhcp, linkCounters: { ...link.counters } };
}

window.demo = { done: run().catch((err) => {
  log('error: ' + (err && err.code ? err.code + ' ' : '') + (err && err.message));
  $('status').textContent = 'failed: ' + (err && err.message);
  throw err;
}) };
</script>
`;

// The workload bench/browser.mjs runs the same way in a page, in a Worker and in Node: a
// stack on a WebSocket link to the relay (nat mode), its address from the relay's DHCP,
// then TCP to servers on the relay host's loopback (reached at the gateway's address):
// connect time, request round trips, a download and an upload. Plain JavaScript with no
// Node modules, so a browser can load it as it is.

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * cfg: { lib (URL of dist/index.js), relayUrl, WebSocket?, framing?, offload?, mtu?, gateway, ports:
 * { download, upload, echo }, mib }. Resolves { framing, downMiBs, upMiBs, connectMs, rttMs }.
 */
export async function stackRun(cfg) {
  const lwip = await import(cfg.lib);
  const stack = await lwip.Stack.create();
  const linkOpts = { framing: cfg.framing ?? 'auto', offload: cfg.offload ?? true, mtu: cfg.mtu ?? 1500 };
  if (cfg.WebSocket) linkOpts.WebSocket = cfg.WebSocket;
  const link = lwip.connectWebSocket(cfg.relayUrl, linkOpts);
  try {
    await link.ready;
    await stack.addInterface(link, { ip: 'dhcp', dhcp: { timeout: 10_000 } });
    const { AF_INET, SOCK_STREAM, SHUT_WR } = lwip;
    const open = async (port) => {
      const s = stack.socket(AF_INET, SOCK_STREAM);
      await s.connect(cfg.gateway, port, { timeout: 10_000 });
      return s;
    };

    const connects = [];
    for (let i = 0; i < 10; i++) {
      const t = now();
      const s = await open(cfg.ports.echo);
      connects.push(now() - t);
      s.close();
    }

    const echo = await open(cfg.ports.echo);
    const ping = new Uint8Array(64);
    const rtts = [];
    for (let i = 0; i < 200; i++) {
      const t = now();
      await echo.send(ping);
      let got = 0;
      while (got < ping.length) got += (await echo.recv(65536)).length;
      rtts.push(now() - t);
    }
    echo.close();

    const want = cfg.mib * 1024 * 1024;
    const down = await open(cfg.ports.download);
    const buf = new Uint8Array(1 << 20);
    let got = 0;
    const t0 = now();
    await down.send(`${cfg.mib}\n`);
    for (;;) {
      const n = await down.recvInto(buf);
      if (n === 0) break;
      got += n;
    }
    const downMs = now() - t0;
    down.close();
    if (got !== want) throw new Error(`download: got ${got} of ${want} bytes`);

    const up = await open(cfg.ports.upload);
    const chunk = new Uint8Array(256 * 1024).fill(7);
    const t1 = now();
    for (let sent = 0; sent < want; sent += chunk.length) await up.send(chunk);
    up.shutdown(SHUT_WR);
    const reply = new TextDecoder().decode(await up.recv(64));
    const upMs = now() - t1;
    up.close();
    if (Number(reply) !== want) throw new Error(`upload: the server counted ${reply} of ${want} bytes`);

    return {
      framing: link.framing === 'batch' ? (link.segmentOffload ? 'batch v2' : 'batch v1') : link.framing,
      downMiBs: cfg.mib / (downMs / 1000),
      upMiBs: cfg.mib / (upMs / 1000),
      connectMs: median(connects),
      rttMs: median(rtts),
      messagesPerFrame: link.counters.messagesReceived / Math.max(1, link.counters.framesReceived),
    };
  } finally {
    link.close();
    stack.dispose();
  }
}

/**
 * The TLS workload (bench/browser.mjs --tls), on a stack with TLS leased the same way.
 * cfg.what: 'handshake' (TCP connect, then startTls and the handshake alone is timed,
 * cfg.handshakes times against each of cfg.ports.https (ECDSA P-256) and
 * cfg.ports.httpsRsa (RSA-2048), alternating), 'http' or 'https' (stack.fetch of mib MiB
 * from cfg.ports.http or cfg.ports.https, on a connection a small fetch opened first, so
 * the rate leaves out the connect and the handshake). cfg.ca verifies server.test.
 * Resolves { ecdsaMs, rsaMs } or { downMiBs }.
 */
export async function tlsRun(cfg) {
  const lwip = await import(cfg.lib);
  const stack = await lwip.Stack.create({ tls: true });
  const linkOpts = { mtu: cfg.mtu ?? 1500 };
  if (cfg.WebSocket) linkOpts.WebSocket = cfg.WebSocket;
  const link = lwip.connectWebSocket(cfg.relayUrl, linkOpts);
  try {
    await link.ready;
    await stack.addInterface(link, { ip: 'dhcp', dhcp: { timeout: 10_000 } });
    const tls = { ca: cfg.ca, servername: 'server.test' };
    if (cfg.what === 'handshake') {
      const times = { ecdsa: [], rsa: [] };
      for (let i = 0; i < cfg.handshakes; i++) {
        for (const [kind, port] of [['ecdsa', cfg.ports.https], ['rsa', cfg.ports.httpsRsa]]) {
          const s = stack.socket(lwip.AF_INET, lwip.SOCK_STREAM);
          await s.connect(cfg.gateway, port, { timeout: 10_000 });
          const t = now();
          const ts = stack.startTls(s, tls);
          await ts.handshake({ timeout: 10_000 });
          times[kind].push(now() - t);
          ts.close();
        }
      }
      return { ecdsaMs: median(times.ecdsa), rsaMs: median(times.rsa) };
    }
    const base = `${cfg.what}://${cfg.gateway}:${cfg.what === 'https' ? cfg.ports.https : cfg.ports.http}`;
    await (await stack.fetch(`${base}/mib/0`, { tls })).arrayBuffer();
    const t0 = now();
    const res = await stack.fetch(`${base}/mib/${cfg.mib}`, { tls });
    const reader = res.body.getReader();
    let got = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      got += value.length;
    }
    const ms = now() - t0;
    const want = cfg.mib * 1024 * 1024;
    if (got !== want) throw new Error(`${base}: got ${got} of ${want} bytes`);
    return { downMiBs: cfg.mib / (ms / 1000) };
  } finally {
    link.close();
    stack.dispose();
  }
}

/** The baseline: the platform's WebSocket receiving mib MiB in the server's messages. */
export function rawRun({ url, mib, WebSocket: WS = globalThis.WebSocket }) {
  return new Promise((resolve, reject) => {
    const want = mib * 1024 * 1024;
    const ws = new WS(url);
    ws.binaryType = 'arraybuffer';
    let got = 0;
    let t0 = 0;
    ws.onopen = () => {
      t0 = now();
      ws.send('go');
    };
    ws.onmessage = (e) => {
      got += e.data.byteLength;
      if (got >= want) {
        const ms = now() - t0;
        ws.close();
        resolve({ downMiBs: mib / (ms / 1000) });
      }
    };
    ws.onerror = () => reject(new Error('raw WebSocket failed'));
  });
}

// In a Worker: run what the page posts, post the result back.
if (typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope) {
  globalThis.onmessage = async (e) => {
    try {
      globalThis.postMessage({ ok: await stackRun(e.data) });
    } catch (err) {
      globalThis.postMessage({ error: String(err?.stack ?? err) });
    }
  };
}

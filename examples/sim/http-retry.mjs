// An HTTP client's retry when the connection is reset mid-body, tested with uvu.
// Run: node examples/sim/http-retry.mjs
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { createNetwork } from 'lwip-wasm/sim';

const DOC = new Uint8Array(200_000).map((_, i) => (i * 7) & 255);
const digest = (b) => createHash('sha256').update(b).digest('hex');

// The code under test: GET with node:http, retried with backoff when the connection
// breaks (a reset before the body is complete).
async function getWithRetry(url, agent, retries = 3) {
  for (let attempt = 1; ; attempt++) {
    try {
      return { body: await get(url, agent), attempt };
    } catch (err) {
      if (attempt > retries) throw err;
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }
}

function get(url, agent) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve(Buffer.concat(parts)));
      res.on('error', reject); // "aborted": the body was cut short
    }).on('error', reject);
  });
}

// node:http over a host's stack: the server takes the stack's connections, the client's
// agent makes them, and names resolve through the host's DNS.
function webServer(host) {
  const server = http.createServer((req, res) => res.end(DOC));
  host.stack.net.createServer((sock) => server.emit('connection', sock)).listen(80);
}

function agentOn(host) {
  const agent = new http.Agent({ keepAlive: false });
  agent.createConnection = (opts, cb) => host.stack.net.createConnection(opts, cb);
  return agent;
}

test('the client retries after a reset mid-body, and gets the whole document', async () => {
  const net = await createNetwork({ seed: 7, hosts: { app: 'lan', web: 'lan' }, software: { web: webServer } });
  try {
    // the first connection to web:80 is reset after 50 000 bytes of the response
    const reset = net.toxic({ to: 'web', toPort: 80 }, { type: 'limitData', bytes: 50_000, reset: true, connections: 1 });
    const t0 = net.clock.now();
    const { body, attempt } = await net.run(() => getWithRetry('http://web/doc', agentOn(net.host('app'))));
    assert.is(attempt, 2);
    assert.is(digest(body), digest(DOC));
    assert.is(reset.counters.connections, 1);
    assert.ok(net.clock.now() - t0 >= 500, 'the backoff ran on virtual time');
  } finally {
    net.close();
  }
});

test('without retries left, the reset reaches the caller', async () => {
  const net = await createNetwork({ seed: 8, hosts: { app: 'lan', web: 'lan' }, software: { web: webServer } });
  try {
    net.toxic({ to: 'web', toPort: 80 }, { type: 'limitData', bytes: 50_000, reset: true });
    const err = await net.run(() => getWithRetry('http://web/doc', agentOn(net.host('app')), 2)).catch((e) => e);
    assert.is(err.code, 'ECONNRESET');
  } finally {
    net.close();
  }
});

test.run();

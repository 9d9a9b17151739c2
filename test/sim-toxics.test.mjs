// Connection toxics (toxiproxy's) on the simulated network's TCP connections, in place:
// latency and bandwidth per direction, slow close, timeout (hold, then close), reset
// peer, limit data (close or reset), slicer; toxicity and a connection limit drawn from
// the seed; only the connections the filter names.
import { createNetwork, Toxic } from '../dist/sim.js';
import { AF_INET, SOCK_STREAM } from '../dist/index.js';
import { it, test, assert, randomBytes, sha256, rejectsCode } from './helpers.mjs';

const text = (b) => new TextDecoder().decode(b);
const BODY = randomBytes(400_000, 5);

/**
 * client and server on one segment. The server echoes on 7 and 8; on 80 it answers any
 * request with `size` bytes of BODY (default all), then closes.
 */
async function pair(seed, size = BODY.length) {
  const net = await createNetwork({ seed, hosts: { client: 'lan', server: 'lan' } });
  net.host('server').run(async (host) => {
    const serve = (port, handle) => {
      const l = host.stack.socket(AF_INET, SOCK_STREAM);
      l.bind('0.0.0.0', port);
      l.listen(16);
      (async () => {
        for (;;) {
          const s = await l.accept();
          handle(s).catch(() => {}).finally(() => !s.closed && !host.stack.disposed && s.close());
        }
      })().catch(() => {});
    };
    const echo = async (s) => {
      for (let d = await s.recv(); d.length > 0; d = await s.recv()) await s.send(d);
    };
    serve(7, echo);
    serve(8, echo);
    serve(80, async (s) => {
      await s.recv();
      await s.send(BODY.subarray(0, size));
      net.serverSent = (net.serverSent ?? 0) + 1;
    });
  });
  return net;
}

/** Connects to the server's port; resolves the socket and the virtual ms it took. */
async function dial(net, port) {
  const c = net.host('client').stack.socket(AF_INET, SOCK_STREAM);
  const t0 = Date.now();
  await c.connect(net.lookup('server'), port);
  return { c, took: Date.now() - t0 };
}

/** Reads until EOF or an error; resolves { bytes, error, at }. */
async function readAll(c) {
  const parts = [];
  let error;
  try {
    for (let d = await c.recv(); d.length > 0; d = await c.recv()) parts.push(d);
  } catch (e) {
    error = e.code;
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.length;
  }
  return { bytes, error, at: Date.now() };
}

async function echoTime(c, msg = 'x') {
  const t0 = Date.now();
  await c.send(msg);
  assert.is(text(await c.recv()), msg);
  return Date.now() - t0;
}

it('latency per direction, on the named connections only', async () => {
  const net = await pair(21);
  try {
    await net.run(async () => {
      await dial(net, 8).then(({ c }) => c.close()); // ARP done before timing
      const up = net.toxic({ to: 'server', toPort: 7 }, { type: 'latency', latency: 100, stream: 'upstream' });
      assert.instance(up, Toxic);
      const a = await dial(net, 7);
      assert.is(a.took, 100, 'the SYN waited');
      assert.is(await echoTime(a.c), 100, 'the request waited, the reply did not');
      const other = await dial(net, 8);
      assert.is(other.took, 0, 'port 8 is not named');
      assert.is(await echoTime(other.c), 0);
      up.remove();
      net.toxic({ to: 'server', toPort: 7 }, { type: 'latency', latency: 50 }); // downstream by default
      const b = await dial(net, 7);
      assert.is(b.took, 50, 'the SYN-ACK waited');
      assert.is(await echoTime(b.c), 50);
      net.toxic({ between: ['client', 'server'], port: 8 }, { type: 'latency', latency: 10, jitter: 5, stream: 'both' });
      const j = await dial(net, 8);
      const t = await echoTime(j.c);
      assert.ok(t >= 10 && t <= 30, `both ways, 10 ± 5 ms each: ${t} ms`);
      for (const x of [a.c, other.c, b.c, j.c]) x.close();
      await new Promise((r) => setTimeout(r, 1000));
      assert.is(net.tcp.connections, 0, 'closed connections are forgotten');
    });
  } finally {
    net.close();
  }
});

it('bandwidth: the download takes as long as the rate says; the other direction is free', async () => {
  const net = await pair(22);
  try {
    await net.run(async () => {
      const t = net.toxic({ to: 'server', toPort: 80 }, { type: 'bandwidth', rate: 100_000 });
      const { c } = await dial(net, 80);
      const t0 = Date.now();
      await c.send('GET');
      const got = await readAll(c);
      const took = got.at - t0;
      assert.is(sha256(got.bytes), sha256(BODY), 'all of it, intact');
      // 400 KB of payload at 100 KB/s of frames (headers count too)
      assert.ok(took >= 4000 && took < 4400, `400 KB at 100 KB/s took ${took} ms`);
      assert.is(t.counters.connections, 1);
      c.close();
      const e = await dial(net, 7);
      const big = randomBytes(200_000, 9);
      const t1 = Date.now();
      const back = (async () => {
        let n = 0;
        while (n < big.length) n += (await e.c.recv()).length;
      })();
      await e.c.send(big);
      await back;
      assert.ok(Date.now() - t1 < 100, 'another connection: no limit');
      e.c.close();
    });
  } finally {
    net.close();
  }
});

it('slowClose: the data comes at once, the FIN late', async () => {
  const net = await pair(23, 1000);
  try {
    await net.run(async () => {
      net.toxic({ to: 'server', toPort: 80 }, { type: 'slowClose', delay: 2000 });
      const { c } = await dial(net, 80);
      const t0 = Date.now();
      await c.send('GET');
      const first = await c.recv();
      assert.ok(Date.now() - t0 < 5, 'data without delay');
      const rest = await readAll(c);
      assert.is(first.length + rest.bytes.length, 1000);
      assert.is(rest.error, undefined);
      assert.is(rest.at - t0, 2000, 'EOF 2 s late');
      c.close();
    });
  } finally {
    net.close();
  }
});

it('timeout 0 holds the data until the toxic goes; timeout n closes', async () => {
  const net = await pair(24);
  try {
    await net.run(async () => {
      const stall = net.toxic({ to: 'server', toPort: 80 }, { type: 'timeout', timeout: 0 });
      const { c } = await dial(net, 80);
      await c.send('GET');
      const reading = readAll(c);
      await new Promise((r) => setTimeout(r, 120_000));
      assert.is(net.serverSent, undefined, 'the server is held up too, its buffers full');
      assert.is(c.pending, 0, 'nothing arrived');
      stall.remove();
      const got = await reading;
      assert.is(got.error, undefined);
      assert.is(sha256(got.bytes), sha256(BODY), 'held, then delivered intact');
      assert.is(net.serverSent, 1);
      c.close();

      net.toxic({ to: 'server', toPort: 7 }, { type: 'timeout', timeout: 5000, stream: 'both' });
      const e = await dial(net, 7);
      const t0 = Date.now();
      await e.c.send('hello?');
      const r = await readAll(e.c);
      assert.is(r.bytes.length, 0, 'no echo');
      assert.is(r.error, undefined, 'a clean close (FIN), as toxiproxy closes it');
      assert.is(r.at - t0, 5000);
      e.c.close();
    });
  } finally {
    net.close();
  }
});

it('resetPeer: both ends get ECONNRESET after the timeout', async () => {
  const net = await pair(25);
  try {
    await net.run(async () => {
      net.toxic({ to: 'server', toPort: 7 }, { type: 'resetPeer', timeout: 1000 });
      const { c } = await dial(net, 7);
      const t0 = Date.now();
      assert.is(await echoTime(c), 0, 'fine until then');
      const err = await c.recv().catch((e) => e);
      assert.is(err.code, 'ECONNRESET');
      assert.is(Date.now() - t0, 1000);
      assert.is(net.tcp.resets, 1);
      c.close();
    });
  } finally {
    net.close();
  }
});

it('limitData: the receiver gets that many bytes, then EOF (or with reset, ECONNRESET)', async () => {
  const net = await pair(26);
  try {
    await net.run(async () => {
      const lim = net.toxic({ to: 'server', toPort: 80 }, { type: 'limitData', bytes: 10_000 });
      const { c } = await dial(net, 80);
      await c.send('GET');
      const got = await readAll(c);
      assert.is(got.error, undefined, 'a clean end');
      assert.is(got.bytes.length, 10_000);
      assert.equal(got.bytes, BODY.subarray(0, 10_000), 'the first 10000 bytes, intact');
      c.close();
      lim.remove();
      net.toxic({ to: 'server', toPort: 80 }, { type: 'limitData', bytes: 50_000, reset: true });
      const r = await dial(net, 80);
      await r.c.send('GET');
      const cut = await readAll(r.c);
      assert.is(cut.error, 'ECONNRESET', 'a reset mid-body');
      assert.ok(cut.bytes.length > 0 && cut.bytes.length <= 50_000, `${cut.bytes.length} bytes before it`);
      assert.equal(cut.bytes, BODY.subarray(0, cut.bytes.length));
      r.c.close();
    });
  } finally {
    net.close();
  }
});

it('slicer: the data arrives in small slices, spaced out, intact', async () => {
  const net = await pair(27, 3000);
  try {
    await net.run(async () => {
      net.toxic({ to: 'server', toPort: 80 }, { type: 'slicer', averageSize: 100, sizeVariation: 50, delay: 10 });
      const { c } = await dial(net, 80);
      const t0 = Date.now();
      await c.send('GET');
      const sizes = [];
      const parts = [];
      for (let d = await c.recv(); d.length > 0; d = await c.recv()) {
        sizes.push(d.length);
        parts.push(d);
      }
      const all = new Uint8Array(3000);
      let off = 0;
      for (const p of parts) {
        all.set(p, off);
        off += p.length;
      }
      assert.equal(all, BODY.subarray(0, 3000));
      assert.ok(Math.max(...sizes) <= 150 && sizes.length >= 20, `slices ${sizes.join(',')}`);
      assert.ok(Date.now() - t0 >= (sizes.length - 1) * 10, 'spaced 10 ms apart');
      c.close();
    });
  } finally {
    net.close();
  }
});

it('toxicity and connections: which connections are taken is drawn from the seed', async () => {
  const run = async (seed) => {
    const net = await pair(seed);
    try {
      return await net.run(async () => {
        const t = net.toxic({ to: 'server', toPort: 7 }, { type: 'resetPeer', timeout: 0, toxicity: 0.5 });
        const outcomes = [];
        for (let i = 0; i < 20; i++) {
          const c = net.host('client').stack.socket(AF_INET, SOCK_STREAM);
          const ok = await c.connect(net.lookup('server'), 7).then(() => echoTime(c)).then(() => 'ok', (e) => e.code);
          outcomes.push(ok);
          c.close();
        }
        assert.is(outcomes.filter((o) => o !== 'ok').length, t.counters.connections);
        t.remove();
        const once = net.toxic({ to: 'server', toPort: 8 }, { type: 'resetPeer', connections: 1 });
        const first = await dial(net, 8);
        await rejectsCode(first.c.recv(), 'ECONNRESET');
        const second = await dial(net, 8);
        assert.is(await echoTime(second.c), 0, 'the second connection passes');
        assert.is(once.counters.connections, 1);
        first.c.close();
        second.c.close();
        return outcomes.join(',');
      });
    } finally {
      net.close();
    }
  };
  const a = await run(28);
  const taken = a.split(',').filter((o) => o !== 'ok').length;
  assert.ok(taken > 3 && taken < 17, `${taken} of 20 at 50%`);
  assert.is(await run(28), a, 'the same seed takes the same connections');
});

test('toxics are checked', async () => {
  const net = await createNetwork({ seed: 29, hosts: { a: 'lan' } });
  try {
    assert.throws(() => net.toxic({}, { type: 'gremlin' }), /unknown toxic type "gremlin"/);
    assert.throws(() => net.toxic({}, { type: 'latency' }), /needs latency/);
    assert.throws(() => net.toxic({}, { type: 'latency', latency: -1 }), /latency.latency must be/);
    assert.throws(() => net.toxic({}, { type: 'latency', latency: 1, rate: 3 }), /has no field "rate"/);
    assert.throws(() => net.toxic({}, { type: 'bandwidth', rate: 0 }), /above 0/);
    assert.throws(() => net.toxic({}, { type: 'slicer', averageSize: 0 }), /at least 1/);
    assert.throws(() => net.toxic({}, { type: 'limitData', bytes: 1, reset: 'yes' }), /true or false/);
    assert.throws(() => net.toxic({}, { type: 'resetPeer', stream: 'sideways' }), /stream must be/);
    assert.throws(() => net.toxic({}, { type: 'resetPeer', toxicity: 1.5 }), /toxicity must be/);
    assert.throws(() => net.toxic({}, { type: 'resetPeer', connections: -1 }), /connections must be/);
    assert.throws(() => net.toxic({ to: 'nobody' }, { type: 'resetPeer' }), /no host of this network/);
  } finally {
    net.close();
  }
});

test.run();

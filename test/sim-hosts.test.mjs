// Hosts of the simulated network and their software: a crash takes the stack away with
// no FIN or RST on the wire, a restart boots fresh state on the same addresses and MACs
// and runs the software again (so a peer's retransmission meets an RST); a process
// bounce closes the software's sockets as the kernel would; software failures are kept.
import { createNetwork, HostDownError } from '../dist/sim.js';
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR } from '../dist/index.js';
import { it, test, assert, rejectsCode } from './helpers.mjs';

const text = (b) => new TextDecoder().decode(b);

/** Frames of a pcap (after the 24-byte header, from byte `from`). */
function framesOf(pcap, from = 24) {
  const out = [];
  const dv = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
  for (let off = from; off + 16 <= pcap.length;) {
    const len = dv.getUint32(off + 8, true);
    out.push(pcap.subarray(off + 16, off + 16 + len));
    off += 16 + len;
  }
  return out;
}

const ipv4Src = (f) => ((f[12] << 8) | f[13]) === 0x0800 ? `${f[26]}.${f[27]}.${f[28]}.${f[29]}` : undefined;

/** The echo service: records each boot's start, listens on 7. */
function echoService(log) {
  return async (host) => {
    log.push(['boot', host.name, host.boots]);
    host.signal.addEventListener('abort', () => log.push(['stop', host.signal.reason.code]));
    const l = host.stack.socket(AF_INET, SOCK_STREAM);
    l.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1); // as servers do, to listen again at once
    l.bind('0.0.0.0', 7);
    l.listen(8);
    for (;;) {
      const s = await l.accept();
      (async () => {
        for (let d = await s.recv(); d.length > 0; d = await s.recv()) await s.send(d);
        s.close();
      })().catch(() => {});
    }
  };
}

it('a crash: the stack is gone with nothing on the wire; restart boots it fresh, software and all', async () => {
  const log = [];
  const net = await createNetwork({ seed: 31, capture: true, hosts: { client: 'lan', server: 'lan' }, software: { server: echoService(log) } });
  try {
    const server = net.host('server');
    const mac = server.stack.interfaces[0].mac;
    await net.run(async () => {
      const client = net.host('client').stack;
      const c = client.socket(AF_INET, SOCK_STREAM);
      await c.connect(net.lookup('server'), 7);
      await c.send('one');
      assert.is(text(await c.recv()), 'one');
      const mark = net.pcap('lan').length;
      server.crash();
      assert.is(server.up, false);
      assert.throws(() => server.stack, /host server is down/);
      assert.instance(server.signal.reason, HostDownError);
      assert.equal(log, [['boot', 'server', 1], ['stop', 'EHOSTDOWN']]);
      await c.send('two'); // into the void: no answer, no reset
      await new Promise((r) => setTimeout(r, 30_000));
      const fromServer = framesOf(net.pcap('lan'), mark).filter((f) => ipv4Src(f) === net.lookup('server'));
      assert.equal(fromServer, [], 'nothing from the crashed host: no FIN, no RST');
      assert.is(c.pending, 0);
      assert.equal(await client.resolve('server'), { address: net.lookup('server'), family: 4 }, 'names still resolve');
      await server.restart();
      assert.is(server.up, true);
      assert.is(server.boots, 2);
      assert.is(server.stack.interfaces[0].mac, mac, 'the same MAC after a reboot');
      // the client's next retransmission meets a stack that never heard of it
      await rejectsCode(c.recv(), 'ECONNRESET');
      c.close();
      const d = client.socket(AF_INET, SOCK_STREAM);
      await d.connect(net.lookup('server'), 7);
      await d.send('three');
      assert.is(text(await d.recv()), 'three', 'the software runs again');
      d.close();
      await server.bounce();
      assert.is(server.boots, 3);
    });
    assert.equal(log.filter(([k]) => k === 'boot'), [['boot', 'server', 1], ['boot', 'server', 2], ['boot', 'server', 3]]);
    assert.equal(net.errors, [], 'stopped software is not a failure');
    server.crash();
    server.crash(); // a second crash of a host that is down does nothing
    assert.is(server.up, false);
  } finally {
    net.close();
  }
});

it('a process bounce: the kernel closes its sockets (peers see the FIN), the stack stays', async () => {
  const log = [];
  const net = await createNetwork({ seed: 32, hosts: { client: 'lan', server: 'lan' }, software: { server: echoService(log) } });
  try {
    await net.run(async () => {
      const client = net.host('client').stack;
      const c = client.socket(AF_INET, SOCK_STREAM);
      await c.connect(net.lookup('server'), 7);
      await c.send('a');
      assert.is(text(await c.recv()), 'a');
      const server = net.host('server');
      const stack = server.stack;
      assert.ok(stack.sockets.length >= 2, 'a listener and the connection');
      await server.restartProcess();
      assert.is(server.stack, stack, 'the same stack');
      assert.is((await c.recv()).length, 0, 'EOF: the connection was closed, not lost');
      c.close();
      const d = client.socket(AF_INET, SOCK_STREAM);
      await d.connect(net.lookup('server'), 7);
      await d.send('b');
      assert.is(text(await d.recv()), 'b', 'the software listens again');
      d.close();
      server.kill();
      const e = client.socket(AF_INET, SOCK_STREAM);
      await rejectsCode(e.connect(net.lookup('server'), 7), 'ECONNREFUSED', 'nothing listens after kill()');
      e.close();
    });
    assert.equal(log, [['boot', 'server', 1], ['stop', 'EKILLED'], ['boot', 'server', 1], ['stop', 'EKILLED']]);
  } finally {
    net.close();
  }
});

it("software that fails is recorded with its host; run() replaces a host's software", async () => {
  const net = await createNetwork({
    seed: 33,
    hosts: { a: 'lan' },
    software: { a: async () => { throw new Error('bad config'); } },
  });
  try {
    await net.advance(1);
    assert.is(net.errors.length, 1);
    assert.is(net.errors[0].host, 'a');
    assert.is(net.errors[0].error.message, 'bad config');
    let ran = 0;
    await net.host('a').run(() => {
      ran++;
    });
    await net.advance(1);
    assert.is(ran, 1);
    await net.host('a').bounce();
    await net.advance(1);
    assert.is(ran, 2, 'the new software runs at the next boot too');
    assert.throws(() => net.host('a').run('not a function'), TypeError);
  } finally {
    net.close();
  }
});

it("the software and net.run() run on the network's time; the rest of the process on real time", async () => {
  const realSetTimeout = globalThis.setTimeout;
  const RealDate = globalThis.Date;
  const ticks = [];
  const net = await createNetwork({
    seed: 34, epoch: Date.UTC(2024, 5, 1), hosts: { a: 'lan' },
    software: { a: () => void setInterval(() => ticks.push(new Date().toISOString()), 1000) },
  });
  try {
    // outside run(): real timers, real dates, and the virtual clock stands still
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(performance.now() - t0 >= 15, 'a real 20 ms');
    assert.ok(Math.abs(Date.now() - RealDate.now()) < 1000 && Date.now() > Date.UTC(2024, 6, 1));
    assert.equal(ticks, []);
    const inside = await net.run(async () => {
      const start = Date.now();
      await new Promise((r) => setTimeout(r, 10_500));
      return [start, Date.now()];
    });
    assert.equal(inside, [Date.UTC(2024, 5, 1), Date.UTC(2024, 5, 1) + 10_500]);
    assert.is(ticks.length, 10, "the software's interval ticked once a virtual second");
    assert.is(ticks[0], '2024-06-01T00:00:01.000Z');
    assert.is(net.clock.now(), 10_500);
  } finally {
    net.close();
  }
  assert.is(globalThis.setTimeout, realSetTimeout, 'the globals are back once the last network closes');
  assert.is(globalThis.Date, RealDate);
});

test.run();

// The stack's ss, /proc/net/sockstat and protocol counters: every field is moved by
// something a test does (Recv-Q grows while data sits unread, Send-Q while the peer is
// cut off, TIME-WAIT appears and goes, counters count exactly what was sent).
import {
  createPair, impair, formatSs, VirtualClock, AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, SO_SNDBUF,
} from '../dist/index.js';
import {
  it, test, assert, createStack, twoStacks, connectPair, waitUntil, sleep, readExactly, readToEof, text, throwsCode,
} from './helpers.mjs';
import { tapLink } from './frames.mjs';

/** Two stacks whose a-side link can be cut (impair partition) and b-side frames edited. */
async function cuttableNet(opts = {}) {
  const a = await createStack({ seed: 1, ...opts });
  const b = await createStack({ seed: 2, ...opts });
  const [la, lb] = createPair();
  const cut = impair(la, { seed: 5 });
  let edit = null;
  const tb = tapLink(lb, (f, out) => {
    if (!out && edit) edit(f);
  });
  a.addInterface(cut, { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
  b.addInterface(tb, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
  return { a, b, cut, setEdit: (fn) => { edit = fn; }, dispose: () => { a.dispose(); b.dispose(); } };
}

const row = (rows, pred) => rows.find(pred);
const port = (sock) => sock.getsockname().port;

it('LISTEN rows: Recv-Q is the accept queue, Send-Q the backlog; waiting connections are rows without fd', async () => {
  const net = await twoStacks();
  try {
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 8080);
    l.listen(5);
    let lr = row(net.b.ss({ listening: true }), (r) => r.fd === l.fd);
    assert.equal({ ...lr, local: lr.local.address + ':' + lr.local.port },
      { netid: 'tcp', state: 'LISTEN', recvQ: 0, sendQ: 5, local: '0.0.0.0:8080', peer: null, fd: l.fd });
    assert.not.ok(net.b.ss().some((r) => r.state === 'LISTEN'), 'plain ss leaves listeners out, as ss does');

    const c1 = net.a.socket(AF_INET, SOCK_STREAM);
    const c2 = net.a.socket(AF_INET, SOCK_STREAM);
    await Promise.all([c1.connect('10.0.0.2', 8080), c2.connect('10.0.0.2', 8080)]);
    await waitUntil(() => row(net.b.ss({ listening: true }), (r) => r.fd === l.fd).recvQ === 2, 2000);
    lr = row(net.b.ss({ listening: true }), (r) => r.fd === l.fd);
    assert.is(lr.recvQ, 2, 'two connections wait for accept');
    const queued = net.b.ss({ tcp: true }).filter((r) => r.state === 'ESTAB');
    assert.is(queued.length, 2, 'they are ESTAB rows');
    assert.ok(queued.every((r) => r.fd === null && r.local.port === 8080), 'with no descriptor yet');
    assert.equal(queued.map((r) => r.peer.port).sort(), [port(c1), port(c2)].sort());
    const s1 = l.acceptSync();
    assert.is(row(net.b.ss({ listening: true }), (r) => r.fd === l.fd).recvQ, 1, 'accept takes one off the queue');
    assert.ok(net.b.ss().some((r) => r.fd === s1.fd && r.state === 'ESTAB'), 'the accepted one has its fd');
    l.listen(9);
    assert.is(row(net.b.ss({ listening: true }), (r) => r.fd === l.fd).sendQ, 9, 'listen() again changes the backlog');

    const all = net.b.ss({ all: true });
    assert.ok(all.some((r) => r.state === 'LISTEN') && all.some((r) => r.state === 'ESTAB'), 'all: both kinds');
    assert.ok(net.b.ss({ listening: true }).every((r) => r.state === 'LISTEN' || r.state === 'UNCONN'), 'listening only');
  } finally {
    net.dispose();
  }
});

it('Recv-Q grows while data sits unread; Send-Q while the peer is cut off; info and memory follow', async () => {
  const net = await cuttableNet();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    const srow = () => row(net.b.ss({ info: true, memory: true }), (r) => r.fd === s.fd);
    const crow = () => row(net.a.ss({ info: true, memory: true }), (r) => r.fd === c.fd);
    assert.is(srow().recvQ, 0);
    await c.send('x'.repeat(1000));
    await waitUntil(() => s.pending === 1000, 2000);
    assert.is(srow().recvQ, 1000, 'Recv-Q: unread bytes');
    assert.is(srow().memory.rmem, 1000, 'skmem r: the same bytes');
    await c.send('y'.repeat(500));
    await waitUntil(() => s.pending === 1500, 2000);
    assert.is(srow().recvQ, 1500, 'Recv-Q grows');
    s.recvSync(1200);
    assert.is(srow().recvQ, 300, 'and shrinks as data is read');

    const info = crow().info;
    assert.is(info.mss, 1460, 'mss');
    assert.ok(info.cwnd >= info.mss && info.ssthresh > 0 && info.rto > 0 && info.sndWnd > 0 && info.rcvWnd > 0,
      `tcp info: ${JSON.stringify(info)}`);
    assert.is(info.retransmits, 0, 'nothing retransmitted yet');
    c.setsockopt(SOL_SOCKET, SO_SNDBUF, 100000);
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, 50000);
    assert.equal([crow().memory.sndbuf, srow().memory.rcvbuf], [200000, 100000], 'skmem tb/rb: SO_SNDBUF/SO_RCVBUF as read back');

    assert.ok(await waitUntil(() => crow().sendQ === 0, 2000), 'everything so far acknowledged');
    net.cut.set({ partition: true });
    c.sendSync('z'.repeat(3000));
    assert.is(crow().sendQ, 3000, 'Send-Q: bytes not acknowledged');
    assert.is(crow().memory.wmem, 3000, 'skmem t');
    assert.ok(await waitUntil(() => crow().info.retransmits >= 1, 5000), 'retransmits counts the timeouts');
    net.cut.set({ partition: false });
    assert.ok(await waitUntil(() => crow().sendQ === 0, 8000), 'acknowledged once the link heals');
    assert.is(crow().info.retransmits, 0, 'and the count resets');
    await readExactly(s, 300 + 3000);
  } finally {
    net.dispose();
  }
}, 20_000);

it('TIME-WAIT rows hold the port for timeWait ms, then go; sockstat counts tw and orphans', async () => {
  const net = await cuttableNet({ timeWait: 400 });
  try {
    const [c, s, l] = await connectPair(net.a, net.b, { port: 9090 });
    const base = net.a.sockstat();
    c.close(); // active close: a ends in TIME_WAIT
    assert.is((await readToEof(s)).length, 0);
    s.close();
    assert.ok(await waitUntil(() => net.a.ss({ tcp: true }).some((r) => r.state === 'TIME-WAIT'), 2000));
    const tw = row(net.a.ss({ tcp: true }), (r) => r.state === 'TIME-WAIT');
    assert.equal([tw.fd, tw.peer.address, tw.peer.port, tw.info], [null, '10.0.0.2', 9090, undefined], 'no fd, no tcp info');
    assert.is(net.a.sockstat().tcp.tw, 1, 'sockstat tw');
    assert.is(net.a.sockstat().tcp.inuse, base.tcp.inuse - 1, 'inuse counts sockets with descriptors');
    assert.ok(await waitUntil(() => net.a.sockstat().tcp.tw === 0, 3000), 'gone after timeWait');
    assert.not.ok(net.a.ss({ all: true }).some((r) => r.state === 'TIME-WAIT'));

    // an orphan: closed by its owner while the peer is unreachable, so FIN_WAIT_1 lingers
    const [c2] = await connectPair(net.a, net.b, { port: 9091 });
    net.cut.set({ partition: true });
    c2.close();
    const ss = net.a.sockstat();
    assert.is(ss.tcp.orphan, 1, 'orphan');
    const orow = row(net.a.ss(), (r) => r.state === 'FIN-WAIT-1');
    assert.ok(orow && orow.fd === null, 'its row: FIN-WAIT-1, no descriptor');
    net.cut.set({ partition: false });
    l.close();
  } finally {
    net.dispose();
  }
}, 15_000);

it('UDP rows (UNCONN, ESTAB) and IPv6 addresses; sockstat inuse and mem', async () => {
  const net = await twoStacks();
  try {
    const base = net.b.sockstat();
    const u = net.b.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 5353);
    const u6 = net.b.socket(AF_INET6, SOCK_DGRAM);
    u6.bind('fd00::2', 5354);
    u6.connect('fd00::1', 7);
    const rows = net.b.ss({ udp: true, all: true });
    const r4 = row(rows, (r) => r.fd === u.fd);
    const r6 = row(rows, (r) => r.fd === u6.fd);
    assert.equal([r4.netid, r4.state, r4.local.address, r4.local.port, r4.peer], ['udp', 'UNCONN', '0.0.0.0', 5353, null]);
    assert.equal([r6.state, r6.local.address, r6.peer.address, r6.peer.port], ['ESTAB', 'fd00::2', 'fd00::1', 7]);
    assert.not.ok(net.b.ss({ udp: true }).some((r) => r.fd === u.fd), 'UNCONN counts as listening: not in plain ss');
    assert.ok(net.b.ss({ tcp: true, all: true }).every((r) => r.netid === 'tcp'), 'tcp only');

    const tx = net.a.socket(AF_INET, SOCK_DGRAM);
    tx.sendtoSync('a'.repeat(100), '10.0.0.2', 5353);
    tx.sendtoSync('b'.repeat(50), '10.0.0.2', 5353);
    await waitUntil(() => row(net.b.ss({ listening: true }), (r) => r.fd === u.fd).recvQ === 150, 2000);
    assert.is(row(net.b.ss({ listening: true }), (r) => r.fd === u.fd).recvQ, 150, 'Recv-Q: queued datagram bytes');
    const st = net.b.sockstat();
    assert.equal([st.udp.inuse - base.udp.inuse, st.sockets.used - base.sockets.used], [2, 2], 'inuse, used');
    assert.is(st.udp.mem - base.udp.mem, 150, 'udp mem: bytes queued');
    u.recvfromSync();
    assert.is(net.b.sockstat().udp.mem - base.udp.mem, 50);
    u.close();
    u6.close();
    assert.is(net.b.sockstat().udp.inuse, base.udp.inuse, 'closing gives them back');
  } finally {
    net.dispose();
  }
});

it('formatSs prints the table as ss -tuan does, with skmem and tcp info lines', async () => {
  const net = await twoStacks();
  try {
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 80);
    l.listen(7);
    const l6 = net.b.socket(AF_INET6, SOCK_STREAM);
    l6.bind('fd00::2', 443);
    l6.listen(3);
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    await c.connect('10.0.0.2', 80);
    const s = await l.accept({ timeout: 2000 });
    await c.send('hello');
    await waitUntil(() => s.pending === 5, 2000);
    const out = formatSs(net.b.ss({ all: true, tcp: true }));
    const lines = out.split('\n');
    assert.match(lines[0], /^Netid\s+State\s+Recv-Q\s+Send-Q\s+Local Address:Port\s+Peer Address:Port$/);
    assert.ok(lines.some((x) => /^tcp\s+LISTEN\s+0\s+7\s+0\.0\.0\.0:80\s+0\.0\.0\.0:\*$/.test(x)), out);
    assert.ok(lines.some((x) => /^tcp\s+LISTEN\s+0\s+3\s+\[fd00::2\]:443\s+\[::\]:\*$/.test(x)), out);
    const estab = new RegExp(`^tcp\\s+ESTAB\\s+5\\s+0\\s+10\\.0\\.0\\.2:80\\s+10\\.0\\.0\\.1:${c.getsockname().port}$`);
    assert.ok(lines.some((x) => estab.test(x)), out);
    const widths = lines.slice(1, 4).map((x) => x.indexOf(x.match(/\d+\.\d+|\[/)[0]));
    assert.ok(widths.every((w) => w === widths[0]), 'columns line up');
    const detailed = formatSs(net.b.ss({ tcp: true, info: true, memory: true }));
    assert.match(detailed, /\n\t skmem:\(r5,rb524288,t0,tb524288\) mss:1460 cwnd:\d+ ssthresh:\d+ rto:\d+ rtt:\d+ retrans:0 snd_wnd:\d+ rcv_wnd:\d+/);
    assert.is(formatSs([]), 'Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port', 'header only');
    assert.is(text(s.recvSync()), 'hello');
  } finally {
    net.dispose();
  }
});

it('stats(): lwIP\'s counters count exactly what passed, and bad checksums', async () => {
  const net = await cuttableNet();
  try {
    const rx = net.b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 6000);
    const tx = net.a.socket(AF_INET, SOCK_DGRAM);
    tx.sendtoSync('warm', '10.0.0.2', 6000); // resolve ARP first
    await rx.recvfrom(10, { timeout: 2000 });
    const a0 = net.a.stats();
    const b0 = net.b.stats();
    for (let i = 0; i < 3; i++) tx.sendtoSync('d' + i, '10.0.0.2', 6000);
    for (let i = 0; i < 3; i++) await rx.recvfrom(10, { timeout: 2000 });
    tx.sendtoSync('closed', '10.0.0.2', 6001); // no socket: ICMP port unreachable comes back
    await waitUntil(() => net.a.stats().icmp.recv > a0.icmp.recv, 2000);
    const a1 = net.a.stats();
    const b1 = net.b.stats();
    assert.is(a1.udp.xmit - a0.udp.xmit, 4, 'udp.xmit on the sender');
    assert.is(b1.udp.recv - b0.udp.recv, 4, 'udp.recv on the receiver');
    assert.is(b1.udp.proterr - b0.udp.proterr, 1, 'udp.proterr: the datagram no socket wanted');
    assert.is(b1.icmp.xmit - b0.icmp.xmit, 1, 'icmp.xmit: port unreachable');
    assert.is(a1.icmp.recv - a0.icmp.recv, 1, 'icmp.recv');
    assert.is(a1.ip.xmit - a0.ip.xmit, 4, 'ip.xmit');
    assert.is(b1.ip.recv - b0.ip.recv, 4);
    assert.is(a1.link.xmit - a0.link.xmit, 4, 'link.xmit');

    // flip a payload byte of the next datagram on its way in: b drops it on the checksum
    net.setEdit((f) => {
      if (f.length > 42 && f[23] === 17) {
        f[f.length - 1] ^= 0xff;
        net.setEdit(null);
      }
    });
    tx.sendtoSync('corrupt', '10.0.0.2', 6000);
    await waitUntil(() => net.b.stats().udp.chkerr > b1.udp.chkerr, 2000);
    const b2 = net.b.stats();
    assert.is(b2.udp.chkerr - b1.udp.chkerr, 1, 'udp.chkerr');
    assert.is(b2.udp.drop - b1.udp.drop, 1, 'and counted as dropped');
    assert.is(rx.pending, 0, 'not delivered');

    const [c, s] = await connectPair(net.a, net.b);
    const t0 = net.a.stats().tcp;
    await c.send('tcp');
    await readExactly(s, 3);
    await sleep(300); // past the delayed ACK
    const t1 = net.a.stats().tcp;
    assert.ok(t1.xmit - t0.xmit >= 1 && t1.recv - t0.recv >= 1, 'tcp counters move with a connection');
    for (const p of ['link', 'etharp', 'ipFrag', 'ip', 'icmp', 'udp', 'tcp', 'ip6', 'icmp6', 'ip6Frag', 'nd6']) {
      assert.ok(Object.keys(b2[p]).length === 12, `${p} has the 12 counters`);
    }
  } finally {
    net.dispose();
  }
});

it('a full backlog drops further SYNs (clients stay SYN-SENT); accept() drains it and they connect; nothing leaks', async () => {
  const clock = new VirtualClock();
  const net = await twoStacks({ clock, timeWait: 1000 });
  try {
    const base = { a: net.a.memory(), b: net.b.memory() };
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 8100);
    l.listen(2);
    const clients = [];
    const connects = [];
    for (let i = 0; i < 4; i++) {
      const c = net.a.socket(AF_INET, SOCK_STREAM);
      clients.push(c);
      connects.push(c.connect('10.0.0.2', 8100).then(() => i));
    }
    await clock.advanceAsync(500);
    const lr = () => net.b.ss({ listening: true }).find((r) => r.fd === l.fd);
    assert.equal([lr().recvQ, lr().sendQ], [2, 2], 'the accept queue is full at the backlog');
    const states = net.a.ss({ tcp: true }).map((r) => r.state).sort();
    assert.equal(states, ['ESTAB', 'ESTAB', 'SYN-SENT', 'SYN-SENT'], 'the other two wait, their SYNs unanswered');
    const first = await clock.runUntil(Promise.race(connects));
    assert.ok(first === 0 || first === 1, 'the first two connected');

    const accepted = [l.acceptSync(), l.acceptSync()];
    throwsCode(() => l.acceptSync(), 'EAGAIN', 'nothing more queued yet');
    const done = await clock.runUntil(Promise.all(connects), { timeLimit: 30_000 });
    assert.equal(done, [0, 1, 2, 3], 'a retransmitted SYN gets in once accept() made room');
    accepted.push(await clock.runUntil(l.accept()), await clock.runUntil(l.accept()));
    for (const [i, c] of clients.entries()) {
      await c.send(`c${i}`);
    }
    const got = [];
    for (const s of accepted) got.push(text(await clock.runUntil(s.recv())));
    assert.equal(got.sort(), ['c0', 'c1', 'c2', 'c3'], 'all four carry data');
    for (const x of [...clients, ...accepted, l]) x.close();
    await clock.advanceAsync(120_000);
    for (const k of ['a', 'b']) {
      const m = net[k].memory();
      assert.is(m.sockets, 0, `${k}: sockets`);
      assert.is(m.poolsInUse, base[k].poolsInUse, `${k}: pools back to where they started`);
    }
  } finally {
    net.dispose();
  }
}, 20_000);

test.run();

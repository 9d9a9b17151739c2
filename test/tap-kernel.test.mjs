// The stack as a real host on a Linux network: the kernel, in a namespace of the test's
// own at the other end of the TAP device, pings it (IPv4 and IPv6 with NDP), fetches
// from an HTTP server written on its sockets with curl, exchanges UDP both ways, gets
// refused, and runs iperf 2 against it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SHUT_WR } from '../dist/index.js';
import { randomBytes, sha256, rejectsCode, readExactly, text } from './helpers.mjs';
import { tapTest, withTapNet, waitListening, connectKernel, sweepStale, tapSkipReason, ip } from './util-tap.mjs';

if (!tapSkipReason()) sweepStale();

tapTest('the kernel pings the stack over IPv4 (small and full-size packets)', async () => {
  await withTapNet({}, async (net) => {
    const r = await net.run('ping', ['-c', '3', '-i', '0.2', '-W', '2', net.stack4]);
    assert.is(r.code, 0, `ping failed: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /3 packets transmitted, 3 received/);
    const big = await net.run('ping', ['-c', '2', '-i', '0.2', '-W', '2', '-M', 'do', '-s', '1472', net.stack4]);
    assert.is(big.code, 0, `1500-byte ping failed: ${big.stdout}${big.stderr}`);
    assert.match(big.stdout, /1480 bytes from 10\.77\.0\.2/);
    // The kernel learnt the stack's MAC by ARP.
    assert.match(ip('-n', net.ns, 'neigh', 'show', net.stack4), new RegExp(`lladdr ${net.iface.mac}`));
    assert.ok(net.link.counters.framesReceived >= 5 && net.link.counters.framesSent >= 5);
  });
}, { tools: ['ping'] });

tapTest('the kernel pings the stack over IPv6: NDP resolves its MAC; global and link-local', async () => {
  await withTapNet({}, async (net) => {
    const r = await net.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', net.stack6]);
    assert.is(r.code, 0, `ping -6 failed: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /3 packets transmitted, 3 received/);
    const neigh = ip('-n', net.ns, '-6', 'neigh', 'show', net.stack6);
    assert.match(neigh, new RegExp(`lladdr ${net.iface.mac}`), `NDP learnt the stack's MAC: ${neigh}`);
    const ll = net.iface.ipv6[0];
    assert.match(ll, /^fe80::/);
    const r2 = await net.run('ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', `${ll}%${net.dev}`]);
    assert.is(r2.code, 0, `link-local ping failed: ${r2.stdout}${r2.stderr}`);
  });
}, { tools: ['ping'] });

/** A small HTTP/1.1 server on the stack's sockets: GET /blob answers `body`. */
function serveHttp(stack, domain, port, body) {
  const l = stack.socket(domain, SOCK_STREAM);
  l.bind(domain === AF_INET6 ? '::' : '0.0.0.0', port);
  l.listen(8);
  const requests = [];
  const serving = (async () => {
    for (;;) {
      let c;
      try {
        c = await l.accept();
      } catch {
        return; // listener closed
      }
      let head = '';
      while (!head.includes('\r\n\r\n')) {
        const d = await c.recv();
        if (d.length === 0) break;
        head += text(d);
      }
      const line = head.split('\r\n')[0];
      requests.push({ line, peer: c.getpeername().address });
      const ok = line.startsWith('GET /blob ');
      const payload = ok ? body : new TextEncoder().encode('not found\n');
      await c.send(`HTTP/1.1 ${ok ? '200 OK' : '404 Not Found'}\r\nContent-Type: application/octet-stream\r\n` +
        `Content-Length: ${payload.length}\r\nConnection: close\r\n\r\n`);
      await c.send(payload);
      c.shutdown(SHUT_WR);
      while ((await c.recv()).length > 0); // curl closes after the body
      c.close();
    }
  })();
  return { requests, close: () => l.close(), serving };
}

tapTest('curl fetches from an HTTP server on the stack, IPv4 and IPv6, and the bytes match', async () => {
  await withTapNet({}, async (net) => {
    const body = randomBytes(3 * 1024 * 1024 + 17, 5);
    const v4 = serveHttp(net.stack, AF_INET, 8080, body);
    const v6 = serveHttp(net.stack, AF_INET6, 8081, body);
    try {
      const r = await net.run('curl', ['-sS', '--fail', '--max-time', '20', `http://${net.stack4}:8080/blob`], { encoding: 'buffer' });
      assert.is(r.code, 0, `curl failed: ${r.stderr}`);
      assert.is(r.stdout.length, body.length);
      assert.is(sha256(r.stdout), sha256(body), 'IPv4 body matches');
      const r6 = await net.run('curl', ['-sS', '--fail', '--max-time', '20', '-g', `http://[${net.stack6}]:8081/blob`], { encoding: 'buffer' });
      assert.is(r6.code, 0, `curl -6 failed: ${r6.stderr}`);
      assert.is(sha256(r6.stdout), sha256(body), 'IPv6 body matches');
      const miss = await net.run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', `http://${net.stack4}:8080/nothing`]);
      assert.is(miss.stdout, '404');
      assert.equal(v4.requests.map((q) => q.line), ['GET /blob HTTP/1.1', 'GET /nothing HTTP/1.1']);
      assert.equal(v4.requests.map((q) => q.peer), [net.kernel4, net.kernel4]);
      assert.equal(v6.requests.map((q) => [q.line, q.peer]), [['GET /blob HTTP/1.1', net.kernel6]]);
    } finally {
      v4.close();
      v6.close();
    }
  });
}, { tools: ['curl'] });

// The kernel side of the UDP test, as a Node program run inside the namespace (Node's
// dgram is the kernel's UDP). mode 'client': sends each size to host:port and expects it
// echoed. mode 'server': echoes what arrives, until `count` datagrams have been echoed.
const UDP_PEER = `
const dgram = require('dgram');
const [mode, fam, host, port, count] = process.argv.slice(1);
const s = dgram.createSocket({ type: fam === '6' ? 'udp6' : 'udp4' });
const payload = (n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 255));
const guard = setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); process.exit(1); }, 15000);
if (mode === 'server') {
  let echoed = 0;
  s.on('message', (m, r) => s.send(m, r.port, r.address, () => { if (++echoed >= Number(count)) { clearTimeout(guard); s.close(); } }));
  s.bind(Number(port), () => console.log('ready'));
} else {
  const sizes = [1, 100, 1472, 1473, 8000, 30000, 60000];
  const results = [];
  let i = 0;
  const next = () => {
    if (i === sizes.length) { clearTimeout(guard); console.log(JSON.stringify(results)); s.close(); return; }
    s.send(payload(sizes[i]), Number(port), host);
  };
  s.on('message', (m) => { results.push({ size: sizes[i], got: m.length, same: m.equals(payload(sizes[i])) }); i++; next(); });
  next();
}`;

const SIZES = [1, 100, 1472, 1473, 8000, 30000, 60000];
const payload = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 255);

for (const family of [4, 6]) {
  tapTest(`UDP both ways over IPv${family}: kernel to stack and back, stack to kernel and back, up to 60000 bytes (fragmented)`, async () => {
    await withTapNet({}, async (net) => {
      const domain = family === 6 ? AF_INET6 : AF_INET;
      // Kernel client, stack echo server.
      const echo = net.stack.socket(domain, SOCK_DGRAM);
      echo.bind(family === 6 ? '::' : '0.0.0.0', 7000);
      const echoing = (async () => {
        for (let n = 0; n < SIZES.length; n++) {
          const d = await echo.recvfrom(65536);
          await echo.sendto(d.data, d.address, d.port);
        }
      })();
      const r = await net.run(process.execPath, ['-e', UDP_PEER, 'client', String(family), family === 6 ? net.stack6 : net.stack4, '7000']);
      assert.is(r.code, 0, `kernel client: ${r.stdout}${r.stderr}`);
      assert.equal(JSON.parse(r.stdout), SIZES.map((size) => ({ size, got: size, same: true })));
      await echoing;
      echo.close();

      // Stack client, kernel echo server.
      const srv = net.spawn(process.execPath, ['-e', UDP_PEER, 'server', String(family), '', '7001', String(SIZES.length)]);
      for (let i = 0; i < 100 && !srv.output().stdout.includes('ready'); i++) await new Promise((res) => setTimeout(res, 20));
      const c = net.stack.socket(domain, SOCK_DGRAM);
      const kernel = family === 6 ? net.kernel6 : net.kernel4;
      for (const size of SIZES) {
        await c.sendto(payload(size), kernel, 7001);
        const d = await c.recvfrom(65536, { timeout: 5000 });
        assert.is(d.data.length, size);
        assert.is(sha256(d.data), sha256(payload(size)), `${size}-byte datagram came back intact`);
        assert.is(d.address, kernel);
        assert.is(d.port, 7001);
      }
      c.close();
      const done = await srv.done;
      assert.is(done.code, 0, `kernel echo server: ${done.stdout}${done.stderr}`);
    });
  });
}

tapTest('the kernel RST to a closed port gives ECONNREFUSED (IPv4 and IPv6)', async () => {
  await withTapNet({}, async (net) => {
    const s = net.stack.socket(AF_INET, SOCK_STREAM);
    const err = await rejectsCode(s.connect(net.kernel4, 9), 'ECONNREFUSED', 'connect to a closed port');
    assert.is(err.syscall, 'connect');
    s.close();
    const s6 = net.stack.socket(AF_INET6, SOCK_STREAM);
    await rejectsCode(s6.connect(net.kernel6, 9), 'ECONNREFUSED', 'connect to a closed IPv6 port');
    s6.close();
    // And the other way: the stack's RST to a closed port refuses the kernel's connect.
    const r = await net.run('curl', ['-sS', '--max-time', '5', `http://${net.stack4}:9/`]);
    assert.match(r.stderr, /Connection refused|Couldn't connect/, r.stderr);
  });
}, { tools: ['curl'] });

tapTest('iperf 2: the kernel client sends to an iperf sink on the stack; the stack as client to `iperf -s`', async () => {
  await withTapNet({}, async (net) => {
    const N = 16 * 1024 * 1024;
    // Kernel `iperf -c` to a sink on the stack: it counts every byte, iperf's header included.
    const l = net.stack.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 5001);
    l.listen(4);
    const sink = (async () => {
      const c = await l.accept();
      let bytes = 0;
      for (;;) {
        const d = await c.recv(1 << 20);
        if (d.length === 0) break;
        bytes += d.length;
      }
      c.close();
      return bytes;
    })();
    const r = await net.run('iperf', ['-c', net.stack4, '-n', String(N), '-y', 'C'], { timeout: 30_000 });
    assert.is(r.code, 0, `iperf -c failed: ${r.stdout}${r.stderr}`);
    const csv = r.stdout.trim().split('\n').pop().split(',');
    assert.is(csv[3], net.stack4, 'iperf reports the stack as its server');
    assert.is(Number(csv[7]), N, 'iperf sent all bytes');
    assert.is(await sink, N, 'the sink on the stack received all bytes');
    assert.ok(Number(csv[8]) > 0);
    l.close();

    // The stack as iperf 2 client: a 4-byte header word of zero flags (no options), then the
    // data; `iperf -s` counts the data after the header.
    const srv = net.spawn('iperf', ['-s', '-p', '5002', '-y', 'C']);
    await waitListening(net, 5002);
    const c = await connectKernel(net, 5002);
    await c.send(new Uint8Array(4));
    const chunk = randomBytes(1 << 20, 9);
    for (let sent = 0; sent < N; sent += chunk.length) await c.send(chunk);
    c.shutdown(SHUT_WR);
    while ((await c.recv()).length > 0);
    c.close();
    let line;
    for (let i = 0; i < 250 && !line; i++) {
      line = srv.output().stdout.split('\n').find((x) => x.includes(`,${net.kernel4},5002,`));
      if (!line) await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(line, `iperf -s reported the connection: ${JSON.stringify(srv.output())}`);
    const fields = line.split(',');
    assert.is(fields[1], net.stack4, 'the client was the stack');
    assert.is(Number(fields[7]), N, 'iperf -s received every data byte');
  });
}, { tools: ['iperf'] });

tapTest('TCP both ways over IPv6 to a kernel socat, with the data checked', async () => {
  await withTapNet({}, async (net) => {
    const data = randomBytes(2 * 1024 * 1024, 21);
    // socat echoes (cat) what the stack sends; the stack reads it all back.
    const srv = net.spawn('socat', ['TCP6-LISTEN:7100,reuseaddr', 'EXEC:cat']);
    await waitListening(net, 7100);
    const c = await connectKernel(net, 7100, 6);
    assert.is(c.getpeername().address, net.kernel6);
    const reading = readExactly(c, data.length);
    await c.send(data);
    const back = await reading;
    c.shutdown(SHUT_WR);
    assert.is(sha256(back), sha256(data));
    assert.is((await c.recv()).length, 0, 'socat closes after our FIN');
    c.close();
    await srv.done;
  });
}, { tools: ['socat'] });

test.run();

// iperf3 over kernel loopback: the reference near the machine's limit. Returns MB/s
// as the receiver counted it, or NaN when iperf3 is not installed.
import { spawn, execFileSync } from 'node:child_process';

let available;
function haveIperf3() {
  if (available === undefined) {
    try {
      execFileSync('iperf3', ['--version'], { stdio: 'ignore' });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

// "Server listening" on stdout says the server is ready; --forceflush makes iperf3
// print it at once even when stdout is a pipe.
function listening(server) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('iperf3 server did not start')), 5000);
    let text = '';
    server.stdout.on('data', (d) => {
      text += d;
      if (text.includes('listening')) {
        clearTimeout(t);
        resolve();
      }
    });
    server.on('exit', () => reject(new Error('iperf3 server exited')));
  });
}

let nextPort = 15201 + (process.pid % 500) * 2;

export async function iperf3(bytes, streams) {
  if (!haveIperf3()) return NaN;
  const port = String(nextPort++);
  const server = spawn('iperf3', ['-s', '-1', '--forceflush', '-B', '127.0.0.1', '-p', port],
    { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await listening(server);
    const out = await new Promise((resolve, reject) => {
      const c = spawn('iperf3', ['-c', '127.0.0.1', '-p', port, '-n', String(bytes), '-P', String(streams), '-J'],
        { stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      const t = setTimeout(() => c.kill(), 120_000);
      c.stdout.on('data', (d) => { text += d; });
      // 'close', not 'exit': the process may exit before its stdout is all read.
      c.on('close', (code) => {
        clearTimeout(t);
        if (code === 0) resolve(text);
        else reject(new Error(`iperf3 client exited with ${code}`));
      });
    });
    const sum = JSON.parse(out).end?.sum_received;
    if (!sum) throw new Error('iperf3 reported no result');
    return sum.bits_per_second / 8 / 1e6;
  } finally {
    server.kill();
  }
}

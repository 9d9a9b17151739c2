// Forged off-path TCP segments (addresses and ports right, sequence numbers guessed) must
// not hurt an established connection: wasm/tcp_guard.c adds RFC 5961's checks that lwIP
// 2.1.3 lacks. scripts/tcp-offpath.mjs forges each segment into a live connection on a
// virtual clock and checks the connection afterwards; it prints one verdict per attack.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, assert } from './helpers.mjs';

test('an ACK far ahead, an MSS option out of window, and a FIN 2^31 away are all ignored', () => {
  const script = fileURLToPath(new URL('../scripts/tcp-offpath.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000 });
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  assert.is(lines.length, 3, `three verdicts expected:\n${r.stdout}${r.stderr}`);
  for (const line of lines) assert.match(line, /: ok$/, line);
  assert.is(r.status, 0, r.stderr);
});

test.run();

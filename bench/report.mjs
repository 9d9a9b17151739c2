// Turns bench results into a Markdown table: medians, the ratio to each baseline
// (oriented so that above 1 means lwip-wasm is better), and whether targets are met.

const fmt = (v) => {
  if (v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(a >= 1 ? 2 : 3);
};

/** lwip-wasm relative to a baseline, > 1 when lwip-wasm is better. */
export function ratio(r, baseline) {
  const o = r.medians['lwip-wasm'];
  const b = r.medians[baseline];
  if (!(o > 0) || !(b > 0)) return NaN;
  return r.better === 'lower' ? b / o : o / b;
}

function targetCell(r) {
  const t = r.target;
  if (!t) return '';
  const o = r.medians['lwip-wasm'];
  if (t.vs !== undefined) {
    const x = ratio(r, t.vs);
    return `≥${t.ratio}× ${t.vs}: ${x >= t.ratio ? 'met' : 'not met'}`;
  }
  if (t.max !== undefined) return `<${fmt(t.max)}: ${o < t.max ? 'met' : 'not met'}`;
  if (t.min !== undefined) return `≥${fmt(t.min)}: ${o >= t.min ? 'met' : 'not met'}`;
  return '';
}

/** The load average above which a run's figures are not quoted (README, closing notes). */
export const QUIET_LOAD = 0.5;

export function markdown(result) {
  const load = result.load ? ` Load average ${result.load.before.toFixed(2)} before, ${result.load.after.toFixed(2)} after.` : '';
  const lines = [
    `Machine: ${result.machine}. Command: \`${result.command}\`. ${result.date}.${load}`,
    '',
    '| workload | metric | lwip-wasm | Node net/dgram | iperf3 | vs Node | vs iperf3 | target |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  let bulk;
  let copy;
  for (const r of result.rows) {
    const nodeKey = Object.keys(r.medians).find((k) => k.startsWith('node'));
    const x = nodeKey ? ratio(r, nodeKey) : NaN;
    const y = ratio(r, 'iperf3');
    lines.push(`| ${r.workload} | ${r.metric}${r.unit ? ` (${r.unit})` : ''} | ${fmt(r.medians['lwip-wasm'])} | ` +
      `${fmt(nodeKey && r.medians[nodeKey])} | ${fmt(r.medians.iperf3)} | ${Number.isNaN(x) ? '' : `${x.toFixed(2)}×`} | ` +
      `${Number.isNaN(y) ? '' : `${y.toFixed(2)}×`} | ${targetCell(r)} |`);
    if (r.workload.startsWith('bulk TCP, 1 stream') && bulk === undefined) bulk = r.medians['lwip-wasm'];
    if (r.workload.startsWith('memcpy')) copy = r.medians['lwip-wasm'];
  }
  lines.push('');
  // The run's own work raises the average after it; before it, the average is others'.
  if (result.load && result.load.before > QUIET_LOAD) {
    lines.push(`**Not for the README**: the load average was above ${QUIET_LOAD} when this run started, so the ` +
      'machine was busy with other work; quote figures only from a run on a quiet machine.');
    lines.push('');
  }
  if (bulk > 0 && copy > 0) {
    lines.push(`Bulk, one stream, costs the time of ${(copy / bulk).toFixed(1)} wasm memcpys per byte moved ` +
      `(memcpy ${fmt(copy)} MB/s ÷ bulk ${fmt(bulk)} MB/s).`);
    lines.push('');
  }
  lines.push('Medians of interleaved repetitions; ratios above 1× mean lwip-wasm is better. ' +
    'Node net/dgram and iperf3 run over kernel loopback; lwip-wasm runs two stacks on an in-memory pair.');
  return `${lines.join('\n')}\n`;
}

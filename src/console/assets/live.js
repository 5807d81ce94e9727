// Requests passing through the routers, as they are answered (GET /api/live?since=N, polled
// every second), and a chart of requests per second and mean latency over the last minutes
// (GET /api/live/rate), drawn here as inline SVG.
import { get, h, s, fill } from './api.js';

const ROWS = 200;
const WINDOW = 120;

export async function render(main, { env }) {
  const body = h('tbody', {});
  const chart = s('svg', { class: 'chart', id: 'live-chart', viewBox: '0 0 900 220', preserveAspectRatio: 'none' });
  const status = h('span', { class: 'muted', id: 'live-status' });
  const onlyEnv = h('input', { type: 'checkbox', id: 'live-only-env' });
  fill(main,
    h('div', { class: 'card' },
      h('h2', {}, 'Trafik genom routern (live)'),
      h('p', { class: 'muted' }, `Anrop per sekund och medellatens de senaste ${WINDOW / 60} minuterna, alla miljöer. `, status),
      chart,
      h('div', { class: 'legend' },
        h('span', {}, h('span', { class: 'sw rate' }), 'anrop/s (requests)'),
        h('span', {}, h('span', { class: 'sw faults' }), 'VP-fel/s (faults)'),
        h('span', {}, h('span', { class: 'sw latency' }), 'medellatens, ms (mean latency)'))),
    h('div', { class: 'card' },
      h('h3', {}, 'Senaste anropen (latest requests) ',
        h('label', { class: 'muted' }, onlyEnv, ` bara ${env}`)),
      h('div', { class: 'scroll' }, h('table', { id: 'live-table' },
        h('thead', {}, h('tr', {}, ['Tid', 'Miljö', 'Tjänstekonsument', 'Logisk adress', 'Tjänstekontrakt', 'Utfall (outcome)', 'Latens (ms)'].map(x => h('th', {}, x)))),
        body))));

  let last = null;
  let stopped = false;
  const seen = [];

  async function poll() {
    const res = await get('/api/live' + (last === null ? '' : `?since=${last}`));
    if (!res.ok) { status.textContent = `(${res.data?.error ?? res.status})`; return; }
    if (res.data.last !== null) last = res.data.last;
    for (const r of res.data.requests) seen.unshift(r);
    seen.length = Math.min(seen.length, ROWS);
    drawRows();
  }

  function drawRows() {
    const rows = seen.filter(r => !onlyEnv.checked || r.environment === env);
    fill(body, rows.map(r => h('tr', { class: r.outcome === 'OK' ? '' : 'invalid', 'data-address': r.address, 'data-seq': r.seq },
      h('td', {}, r.time.replace('T', ' ').replace('Z', '')), h('td', {}, r.environment ?? ''),
      h('td', {}, r.consumer), h('td', {}, r.address), h('td', { class: 'mono' }, r.contract),
      h('td', {}, h('span', { class: `pill ${r.outcome === 'OK' ? 'ok' : 'bad'}` }, r.outcome)),
      h('td', {}, r.latency_ms.toFixed(1)))));
    if (rows.length === 0) body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'Inga anrop än (no requests yet).')));
  }
  onlyEnv.addEventListener('change', drawRows);

  async function rate() {
    const res = await get(`/api/live/rate?seconds=${WINDOW}`);
    if (res.ok) drawChart(chart, res.data.seconds);
  }

  async function loop() {
    while (!stopped) {
      await Promise.all([poll(), rate()]);
      await new Promise(r => setTimeout(r, 1000));
    }
  }
  loop();
  return () => { stopped = true; };
}

function drawChart(svg, secs) {
  const W = 900, H = 220, L = 40, R = 50, T = 10, B = 24;
  const w = (W - L - R) / secs.length;
  const maxCount = Math.max(1, ...secs.map(x => x.count));
  const maxLat = Math.max(1, ...secs.map(x => x.mean_ms));
  const y = v => T + (H - T - B) * (1 - v / maxCount);
  const yl = v => T + (H - T - B) * (1 - v / maxLat);
  const parts = [
    s('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
    s('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }),
    s('line', { class: 'axis', x1: W - R, y1: T, x2: W - R, y2: H - B }),
    s('text', { x: 2, y: T + 8 }, `${maxCount}/s`),
    s('text', { x: W - R + 4, y: T + 8 }, `${maxLat.toFixed(1)} ms`),
    s('text', { x: 2, y: H - B }, '0'),
  ];
  secs.forEach((x, i) => {
    if (x.count > 0) {
      parts.push(s('rect', { class: 'rate', x: L + i * w, y: y(x.count), width: Math.max(w, 1), height: H - B - y(x.count) }));
    }
    if (x.faults > 0) {
      parts.push(s('rect', { class: 'faults', x: L + i * w, y: y(x.faults), width: Math.max(w, 1), height: H - B - y(x.faults) }));
    }
  });
  const line = secs.map((x, i) => x.count > 0 ? `${(L + (i + 0.5) * w).toFixed(1)},${yl(x.mean_ms).toFixed(1)}` : null)
    .filter(Boolean);
  if (line.length) parts.push(s('polyline', { class: 'latency', points: line.join(' ') }));
  for (const p of line) {
    const [cx, cy] = p.split(',');
    parts.push(s('circle', { class: 'latency-dot', cx, cy, r: 2.5 }));
  }
  for (let i = 0; i < secs.length; i += 30) {
    const t = new Date(secs[i].t * 1000).toISOString().slice(11, 19);
    parts.push(s('text', { x: L + i * w, y: H - 8 }, t));
  }
  svg.replaceChildren(...parts);
}
